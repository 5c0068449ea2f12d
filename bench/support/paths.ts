import { join, resolve } from 'node:path';

// Compiled to dist/bench/support/: the repository is three folders up.
export const REPOSITORY_ROOT = resolve(__dirname, '..', '..', '..');
/** The compiled bench (dist/bench), where the baseline and load-generator scripts are. */
export const COMPILED_BENCH = resolve(__dirname, '..');

/** What `npm run start:prod` and `npm run start:cluster` run. */
export const SERVER_MAIN = join(REPOSITORY_ROOT, 'dist', 'src', 'main.js');
export const CLUSTER_MAIN = join(REPOSITORY_ROOT, 'dist', 'src', 'cluster.js');

export const WRK_SCRIPT = join(REPOSITORY_ROOT, 'bench', 'lua', 'bench-request.lua');
export const RESULTS_DIRECTORY = join(REPOSITORY_ROOT, 'bench', 'results');
export const PROFILES_DIRECTORY = join(REPOSITORY_ROOT, 'bench', 'profiles');

/** A compiled bench script that runs as its own process, e.g. `baselines/bare-fastify`. */
export function compiledScript(name: string): string {
  return join(COMPILED_BENCH, `${name}.js`);
}
