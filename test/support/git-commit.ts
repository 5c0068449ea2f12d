import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository's short HEAD, for a report's header; `unknown` outside a git checkout. */
export function gitCommit(cwd = resolve(__dirname, '..', '..', '..')): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
