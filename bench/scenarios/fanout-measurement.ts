import type { FanoutResult } from '@bench/load/fanout-audience';
import { Sample } from '@bench/report/figure';
import { BenchWorker } from '@bench/support/bench-worker';
import { measureCpu } from '@bench/support/cpu-meter';
import { median, percentile } from '@bench/support/statistics';
import { BenchSettings, Measurement } from './scenario';

const DELIVERY_TIMEOUT_MS = 30_000;

/** An audience held by one holder process (ws or Socket.IO), and the server that feeds it. */
export interface FanoutSide {
  holder: BenchWorker;
  /** The server and room the audience joined; the holder's sender joins them too. */
  target: { url: string; roomId: string | null };
  /** A member of the room: the one who sends. */
  senderToken: string;
  serverPid: number;
}

/** Messages per measurement: each is timed on its own and the round's figure is their median. */
export function fanoutMessages(settings: BenchSettings): number {
  return settings.quick ? 5 : 10;
}

/**
 * One message at a time to the audience the holder has open, `messages` of them per round; the
 * server's CPU is read around them. Missing deliveries are the sample's errors.
 */
export function fanoutMeasurement(audience: FanoutSide, messages: number): Measurement {
  return async (): Promise<Sample> => {
    const { result, cpu } = await measureCpu(audience.serverPid, () =>
      audience.holder.request<FanoutResult>(
        'fanout',
        {
          url: audience.target.url,
          token: audience.senderToken,
          roomId: audience.target.roomId,
          messages,
          timeoutMs: DELIVERY_TIMEOUT_MS,
        },
        messages * (DELIVERY_TIMEOUT_MS + 1000) + 60_000,
      ),
    );
    const deliveries = result.receivers * messages - result.missing;
    return {
      value: median(result.deliveriesPerSecond),
      cpu,
      errors: result.missing,
      details: {
        lastReceiptP50Ms: median(result.lastReceiptMs),
        lastReceiptP99Ms: percentile(result.lastReceiptMs, 99),
        serverCpuMicrosPerDelivery: (cpu.serverCpuSeconds * 1e6) / Math.max(deliveries, 1),
        clientCpuPercent: result.clientCpuPercent,
        closedReceivers: result.closed,
      },
    };
  };
}
