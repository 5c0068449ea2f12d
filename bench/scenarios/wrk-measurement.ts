import { Sample } from '@bench/report/figure';
import { measureCpu } from '@bench/support/cpu-meter';
import { LOAD_CORE } from '@bench/support/cores';
import { runWrk, WrkLoad } from '@bench/support/wrk';
import { Measurement, ScenarioContext } from './scenario';

/** The value of a wrk sample: requests (or messages) per second. */
function wrkSampleFrom(result: Awaited<ReturnType<typeof runWrk>>, cpu: Sample['cpu']): Sample {
  return {
    value: result.requestsPerSecond,
    cpu,
    errors: result.non2xx + result.socketErrors,
    details: {
      latencyP50Ms: result.latencyP50Ms,
      latencyP99Ms: result.latencyP99Ms,
      serverCpuMicrosPerRequest: result.requests
        ? (cpu.serverCpuSeconds * 1e6) / result.requests
        : Number.NaN,
    },
  };
}

/** One wrk run per round against the process `pid`, whose CPU is read around it. */
export function wrkMeasurement(
  context: ScenarioContext,
  pid: number,
  load: Omit<WrkLoad, 'seconds'>,
): Measurement {
  const pinned = load.cores === LOAD_CORE;
  return async (seconds) => {
    const { result, cpu } = await measureCpu(
      pid,
      () => runWrk(context.scope, { ...load, seconds }),
      pinned ? undefined : null,
    );
    return wrkSampleFrom(result, cpu);
  };
}
