import { ScaleOptions } from './scale-options';

/** Everything one run measured; `undefined` where the run did not get that far. */
export interface ScaleFigures {
  commit: string;
  startedAt: string;
  openFilesLimit: number;
  sockets: { planned: number; opened: number; perInstance: number[]; firstError?: string };
  open: {
    seconds: number;
    perSecond: number;
    refused503: number;
    /** CPU while the sockets opened: who was the limit. */
    serverCpuPercent: number[];
    clientCpuPercent: number;
    machineCpuPercent: number;
  };
  memoryPerSocketKb: number[];
  steady?: {
    seconds: number;
    /** Steady posts the database stored (the deliveries owed are computed from these). */
    posts: number;
    postsAcked: number;
    /** Deliveries of posts not found in the database (none: a post is delivered once stored). */
    receivedUnstored: number;
    postsUnanswered: number;
    postRefusals: number;
    firstPostRefusal?: string;
    expected: { sameInstance: number; crossInstance: number };
    received: { sameInstance: number; crossInstance: number };
    latencyMs: { p50: number; p99: number; max: number };
    /** Raw sockets the servers closed during the steady state (none should be). */
    socketsDropped: number;
    machineCpuPercent: number;
    serverCpuPercent: number[];
    clientCpuPercent: number;
    serverCpuMicrosPerDelivery: number;
    maxEventLoopStallMs: number[];
    /** From the last steady post to the last steady delivery: how long the fan-out queues took. */
    settleSeconds: number;
  };
  /** Per instance: readiness polls failed / made while it was healthy; `byPhase`: failed/polls. */
  readiness: {
    failed: number;
    polls: number;
    degraded: number;
    byPhase: Record<string, string>;
    firstFailure?: string;
  }[];
  /** Per instance: breaker openings while it was healthy, in all and by phase. */
  breakerOpenings: number[];
  breakerOpeningsByPhase: Record<string, number>[];
  maxScrapeMs: number[];
  kill?: {
    resuming: number;
    dropped: number;
    back: number;
    backP50Seconds: number;
    backP95Seconds: number;
    /** Time until the last one was back (100 %); undefined when some never came back. */
    allBackSeconds: number | undefined;
    stormAcceptPerSecond: number;
    stormPeakAcceptPerSecond: number;
    refused503: number;
    refused503WithRetryAfter: number;
    refused503ByServer: number;
    reconnectAttempts: number;
    gaveUp: number;
    firstGaveUp?: string;
    caughtUp: number;
    missing: number;
    duplicates: number;
    clientsWithMissing: number;
    clientsWithDuplicates: number;
    survivorMaxEventLoopStallMs: number;
    /** CPU while the clients came back: the survivor's, and the busiest client process's. */
    survivorCpuPercent: number;
    /** The survivor's open descriptors when the watch ended (its limit: openFilesLimit). */
    survivorOpenFiles: number;
    /** Connection errors the clients saw while coming back, by kind. */
    connectErrors: Record<string, number>;
    busiestClientCpuPercent: number;
    postsLostWithInstance: number;
  };
  /** A step that threw: the run stopped there. */
  error?: string;
}

export interface ScaleCheck {
  name: string;
  passed: boolean;
  detail: string;
}

/** Issue 20's bar; the figures beside it are printed whatever the outcome. */
export const MIN_DELIVERED_PERCENT = 99.9;

export function deliveredPercent(figures: ScaleFigures): number {
  const steady = figures.steady;
  if (!steady) {
    return Number.NaN;
  }
  const expected = steady.expected.sameInstance + steady.expected.crossInstance;
  const received = steady.received.sameInstance + steady.received.crossInstance;
  return expected > 0 ? (100 * received) / expected : Number.NaN;
}

function percent(received: number, expected: number): string {
  return expected > 0 ? `${((100 * received) / expected).toFixed(2)} %` : 'n/a';
}

export function scaleChecks(figures: ScaleFigures, options: ScaleOptions): ScaleCheck[] {
  const { steady, kill } = figures;
  const delivered = deliveredPercent(figures);
  const readinessFailed = figures.readiness.reduce((sum, tally) => sum + tally.failed, 0);
  const breakers = figures.breakerOpenings.reduce((sum, count) => sum + count, 0);
  return [
    {
      name: 'every socket opened and joined',
      passed: figures.sockets.opened === figures.sockets.planned,
      detail: `${figures.sockets.opened} of ${figures.sockets.planned}${figures.sockets.firstError ? ` (${figures.sockets.firstError})` : ''}`,
    },
    {
      name: `live deliveries in steady state ≥ ${MIN_DELIVERED_PERCENT} %`,
      passed: delivered >= MIN_DELIVERED_PERCENT,
      detail: steady
        ? `${delivered.toFixed(3)} % (${steady.received.sameInstance + steady.received.crossInstance} of ${steady.expected.sameInstance + steady.expected.crossInstance})`
        : 'not measured',
    },
    {
      name: 'readiness never failed on a healthy instance',
      passed: readinessFailed === 0 && figures.readiness.every((tally) => tally.polls > 0),
      detail: figures.readiness
        .map(
          (tally, index) =>
            `instance ${index}: ${tally.failed} of ${tally.polls} failed (${phases(tally.byPhase)})${tally.firstFailure ? `, first: ${tally.firstFailure}` : ''}`,
        )
        .join('; '),
    },
    {
      name: 'the Redis breaker never opened on a healthy instance',
      passed: breakers === 0,
      detail: figures.breakerOpenings
        .map(
          (count, index) =>
            `instance ${index}: ${count} (${phases(figures.breakerOpeningsByPhase[index] ?? {})})`,
        )
        .join('; '),
    },
    {
      name: `every dropped client back and resumed within ${options.backWithinSeconds} s`,
      passed:
        kill !== undefined &&
        kill.back === kill.resuming &&
        kill.allBackSeconds !== undefined &&
        kill.allBackSeconds <= options.backWithinSeconds,
      detail: kill
        ? `${kill.back} of ${kill.resuming} back; 100 % after ${kill.allBackSeconds === undefined ? 'never' : `${kill.allBackSeconds.toFixed(1)} s`}`
        : 'not measured',
    },
    {
      name: 'no client gave up (503s are retried)',
      passed: kill !== undefined && kill.gaveUp === 0,
      detail: kill
        ? `${kill.gaveUp} gave up${kill.firstGaveUp ? ` (${kill.firstGaveUp})` : ''}; ${kill.refused503} upgrades refused with 503 (server counted ${kill.refused503ByServer})`
        : 'not measured',
    },
    {
      name: 'after resume: 0 missing, 0 duplicate messages',
      passed:
        kill !== undefined &&
        kill.missing === 0 &&
        kill.duplicates === 0 &&
        kill.caughtUp === kill.resuming,
      detail: kill
        ? `${kill.missing} missing (${kill.clientsWithMissing} clients), ${kill.duplicates} duplicates (${kill.clientsWithDuplicates} clients), ${kill.caughtUp} of ${kill.resuming} caught up with the database`
        : 'not measured',
    },
  ];
}

/** `open 0/40, steady 3/75, …` */
function phases(byPhase: Record<string, string | number>): string {
  return Object.entries(byPhase)
    .map(([phase, value]) => `${phase} ${value}`)
    .join(', ');
}

const fixed = (value: number | undefined, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);

/** The figures table (the README's "Fleet at scale"), the checks and what the run was. */
export function markdownReport(
  figures: ScaleFigures,
  checks: ScaleCheck[],
  options: ScaleOptions,
): string {
  const { steady, kill } = figures;
  const rows: [string, string, string][] = [
    [
      'sockets open and joined (3 rooms each)',
      `${figures.sockets.opened} (${figures.sockets.perInstance.join(' + ')})`,
      '≥ 30,000',
    ],
    [
      'accept rate while they open and join',
      `${fixed(figures.open.perSecond)} /s (${fixed(figures.open.seconds, 1)} s, ${figures.open.refused503} upgrades refused with 503)`,
      '—',
    ],
    [
      '… CPU meanwhile: machine; servers / client processes',
      `${fixed(figures.open.machineCpuPercent)} % of 2 cores; ${figures.open.serverCpuPercent.map((value) => `${fixed(value)} %`).join(' / ')} / ${fixed(figures.open.clientCpuPercent)} % of a core`,
      '—',
    ],
    [
      'memory per socket (server RSS delta / sockets)',
      `${figures.memoryPerSocketKb.map((kb) => `${fixed(kb, 1)} KB`).join(' / ')}`,
      '—',
    ],
  ];
  if (steady) {
    rows.push(
      [
        'live deliveries that arrived (steady state)',
        `${fixed(deliveredPercent(figures), 3)} %`,
        `≥ ${MIN_DELIVERED_PERCENT} %`,
      ],
      [
        '… on the posting instance / crossing instances',
        `${percent(steady.received.sameInstance, steady.expected.sameInstance)} / ${percent(steady.received.crossInstance, steady.expected.crossInstance)}`,
        '—',
      ],
      [
        'posts stored / acked / refused / unanswered',
        `${steady.posts} / ${steady.postsAcked} / ${steady.postRefusals} / ${steady.postsUnanswered}${steady.firstPostRefusal ? ` (${steady.firstPostRefusal})` : ''}`,
        '— / all / 0 / 0',
      ],
      [
        'post to receipt, p50 / p99 (max)',
        `${fixed(steady.latencyMs.p50)} / ${fixed(steady.latencyMs.p99)} ms (${fixed(steady.latencyMs.max)} ms)`,
        'p99 ≤ 1 s',
      ],
      [
        '… last delivery after the last post (queues drained)',
        `${fixed(steady.settleSeconds, 1)} s`,
        '—',
      ],
      ['sockets the servers dropped in steady state', String(steady.socketsDropped), '0'],
      [
        'event-loop stall, max (per instance)',
        steady.maxEventLoopStallMs.map((ms) => `${fixed(ms)} ms`).join(' / '),
        '≤ 200 ms',
      ],
      ['machine CPU in steady state', `${fixed(steady.machineCpuPercent)} % of 2 cores`, '—'],
      [
        'server CPU (per instance) / client processes',
        `${steady.serverCpuPercent.map((value) => `${fixed(value)} %`).join(' / ')} / ${fixed(steady.clientCpuPercent)} % of a core`,
        '—',
      ],
      ['server CPU per live delivery', `${fixed(steady.serverCpuMicrosPerDelivery, 1)} µs`, '—'],
    );
  }
  rows.push(
    [
      '`/metrics` scrape, max (per instance)',
      figures.maxScrapeMs.map((ms) => `${fixed(ms)} ms`).join(' / '),
      '—',
    ],
    [
      'readiness polls failed on healthy instances',
      figures.readiness.map((tally) => `${tally.failed}/${tally.polls}`).join(' + '),
      '0',
    ],
    ['Redis breaker openings on healthy instances', figures.breakerOpenings.join(' + '), '0'],
  );
  if (kill) {
    rows.push(
      [
        'after SIGKILL: clients back and resumed',
        `${kill.back} of ${kill.resuming} (of ${kill.dropped} dropped)`,
        '100 %',
      ],
      [
        '… time to 100 % back (p50 / p95)',
        `${kill.allBackSeconds === undefined ? 'never' : `${fixed(kill.allBackSeconds, 1)} s`} (${fixed(kill.backP50Seconds, 1)} / ${fixed(kill.backP95Seconds, 1)} s)`,
        `≤ 30 s (pass ≤ ${options.backWithinSeconds} s)`,
      ],
      [
        '… accept rate in the storm (mean / peak second)',
        `${fixed(kill.stormAcceptPerSecond)} / ${fixed(kill.stormPeakAcceptPerSecond)} /s`,
        '—',
      ],
      [
        '… upgrades refused with 503: clients saw (with Retry-After) / server counted',
        `${kill.refused503} (${kill.refused503WithRetryAfter}) / ${kill.refused503ByServer}`,
        'counted',
      ],
      [
        '… reconnection attempts; clients that gave up',
        `${kill.reconnectAttempts}; ${kill.gaveUp}`,
        '—; 0',
      ],
      [
        '… missing / duplicate messages after resume',
        `${kill.missing} / ${kill.duplicates}`,
        '0 / 0',
      ],
      ['… survivor event-loop stall, max', `${fixed(kill.survivorMaxEventLoopStallMs)} ms`, '—'],
      [
        '… survivor open files at the end; connection errors seen',
        `${kill.survivorOpenFiles} of ${figures.openFilesLimit}; ${
          Object.entries(kill.connectErrors)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 4)
            .map(([kind, count]) => `${count} × ${kind}`)
            .join(', ') || 'none'
        }`,
        '—',
      ],
      [
        '… CPU meanwhile: survivor / busiest client process',
        `${fixed(kill.survivorCpuPercent)} % / ${fixed(kill.busiestClientCpuPercent)} % of a core`,
        '—',
      ],
    );
  }
  const passed = checks.every((check) => check.passed);
  const full = options.sockets >= 30_000 && options.steadySeconds >= 60;
  return [
    `# Fleet at scale (${passed ? 'PASS' : 'FAIL'}${full ? '' : ", a development run below the issue's size"})`,
    '',
    `Two instances on PostgreSQL and Redis, ${options.sockets} sockets in ${options.rooms} rooms, ${options.postsPerSecond} posts/s for ${options.steadySeconds} s, then SIGKILL of one instance. Commit ${figures.commit}, ${figures.startedAt}, open-file limit ${figures.openFilesLimit}.`,
    '',
    '| figure | measured | target |',
    '| --- | --: | --: |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    ...checks.map((check) => `- ${check.passed ? 'pass' : 'FAIL'}: ${check.name}: ${check.detail}`),
    ...(figures.error ? ['', `The run stopped early: ${figures.error}`] : []),
    '',
  ].join('\n');
}
