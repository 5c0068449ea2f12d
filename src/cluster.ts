import cluster from 'node:cluster';
import { runPrimary } from './bootstrap/cluster-primary';
import { exitOnStartupFailure, loadProcessConfig } from './bootstrap/environment';

// `npm run start:cluster`: one primary that forks the workers; each worker is the ordinary server.
if (cluster.isPrimary) {
  try {
    runPrimary(loadProcessConfig());
  } catch (error) {
    exitOnStartupFailure(error);
  }
} else {
  // main.ts starts the server when it is loaded.
  void import('./main');
}
