import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Linux reports CPU times in clock ticks (USER_HZ, 100 on every common kernel). */
const TICKS_PER_SECOND = clockTicksPerSecond();

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
}

/** CPU time (user + system, seconds) spent so far by `pid` and every process it forked. */
export function processTreeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((total, member) => total + ownCpuSeconds(member), 0);
}

/** Busy and total time of one core so far, in ticks, from /proc/stat. */
export function coreTicks(core: string): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((row) => row.startsWith(`cpu${core} `));
  if (!line) {
    return { busy: 0, total: 0 };
  }
  // user nice system idle iowait irq softirq steal …: idle and iowait are the not-busy ones.
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/** A process's resident set (VmRSS), bytes. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kilobytes ?? 0) * 1024;
}

function ownCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields from the ')' that ends it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    // Gone, or a kernel without the children file: the process alone.
  }
  return [pid, ...children.flatMap(processTree)];
}
