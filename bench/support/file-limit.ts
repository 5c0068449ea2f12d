import { readFileSync } from 'node:fs';

/**
 * The hard limit on open files of this process (`ulimit -Hn`). Node raises its own soft limit to
 * the hard one at start-up, and so does every Node process the bench starts; only the hard limit
 * bounds how many sockets a fan-out can hold, and raising it needs privileges a container may
 * not have (prlimit fails there), so the bench checks it instead.
 */
export function openFilesHardLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((row) => row.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard);
}
