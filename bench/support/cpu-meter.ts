import { coreTicks, processTreeCpuSeconds } from './process-cpu';
import { LOAD_CORE, SERVER_CORE } from './cores';

/** CPU spent while a piece of load ran: the measured process's and the load generator core's. */
export interface CpuReading {
  wallSeconds: number;
  /** CPU seconds of the measured process tree. */
  serverCpuSeconds: number;
  /** serverCpuSeconds over wall time, in %; up to 100 × cores. */
  serverCpuPercent: number;
  /** How busy the load generator's core was, in %, whoever kept it busy; null when shared. */
  loadCorePercent: number | null;
  /** How busy the measured process's core was: well above serverCpuPercent means others ran there. */
  serverCorePercent: number | null;
}

/**
 * Runs `work` and reads, before and after, the CPU time of `pid` (with its children) and how busy
 * both cores were: which side was the bottleneck. Other processes on the machine count on the
 * core figures too, which is why the process figure is read separately. `cores` null: the run
 * shares both cores (cluster), so per-core figures say nothing.
 */
export async function measureCpu<T>(
  pid: number,
  work: () => Promise<T>,
  cores: { server: string; load: string } | null = { server: SERVER_CORE, load: LOAD_CORE },
): Promise<{ result: T; cpu: CpuReading }> {
  const startedAt = performance.now();
  const serverBefore = processTreeCpuSeconds(pid);
  const loadCore = cores && coreBusyMeter(cores.load);
  const serverCore = cores && coreBusyMeter(cores.server);
  const result = await work();
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const serverCpuSeconds = processTreeCpuSeconds(pid) - serverBefore;
  return {
    result,
    cpu: {
      wallSeconds,
      serverCpuSeconds,
      serverCpuPercent: wallSeconds > 0 ? (100 * serverCpuSeconds) / wallSeconds : 0,
      loadCorePercent: loadCore?.() ?? null,
      serverCorePercent: serverCore?.() ?? null,
    },
  };
}

/** Starts reading a core's busy time; the function returned gives the busy % since. */
function coreBusyMeter(core: string): () => number | null {
  const before = coreTicks(core);
  return () => {
    const after = coreTicks(core);
    const total = after.total - before.total;
    return total > 0 ? (100 * (after.busy - before.busy)) / total : null;
  };
}
