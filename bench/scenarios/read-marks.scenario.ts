import { setTimeout as sleep } from 'node:timers/promises';
import { READ_MARK_INTERVAL_MS } from '@app/rooms/read-mark-interval';
import { writeBound } from '@bench/load/mark-pacing';
import type { MarkResult } from '@bench/load/read-marks-load';
import { Figure, figureOf, Sample } from '@bench/report/figure';
import { ApiClient } from '@bench/support/api-client';
import { createBenchDatabase } from '@bench/support/bench-databases';
import { BenchWorker } from '@bench/support/bench-worker';
import { LOAD_CORE } from '@bench/support/cores';
import { SwitchboardServer } from '@bench/support/switchboard-server';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { postMeasurement, prepareWrites, ROOMS } from './message-post.scenarios';
import { interleavedRounds, Measurement, Scenario, ScenarioContext } from './scenario';
import { webSocketUrl } from './websocket-setup';

const READERS_PER_ROOM = 10;
const READERS = ROOMS * READERS_PER_ROOM;
/** Each reader marks its room every 100 ms: ~1,000 marks/s in all, a room scrolled through. */
const MARK_INTERVAL_MS = 100;
/** The marking starts before wrk and ends after it, so that every post of the round meets marks. */
const MARKING_MARGIN_SECONDS = 0.5;
/** After the marking: the last merged marks are written one server interval after the write before. */
const DRAIN_MS = READ_MARK_INTERVAL_MS + 500;
const MARKS = 'switchboard_read_marks_total';
const WRITES = 'switchboard_read_mark_writes_total';

interface MarkCounters {
  marks: number;
  writes: number;
}

async function markCounters(server: SwitchboardServer): Promise<MarkCounters> {
  const response = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const samples = parsePrometheusText(await response.text());
  return { marks: sumOf(samples, MARKS), writes: sumOf(samples, WRITES) };
}

/**
 * The posts of `posts` with every reader marking its room meanwhile; the sample is the posts'
 * (posts/s, their CPU), with the marks' figures in its details: marks sent and received per
 * second, read-position writes per second (the server's counters before the marking and after
 * its last merged marks were written) and per mark, and the most writes the bound allows.
 */
function whileMarking(
  posts: Measurement,
  server: SwitchboardServer,
  readers: BenchWorker,
): Measurement {
  return async (seconds): Promise<Sample> => {
    const before = await markCounters(server);
    const markingSeconds = seconds + 2 * MARKING_MARGIN_SECONDS;
    const marking = readers.request<MarkResult>(
      'mark',
      { intervalMs: MARK_INTERVAL_MS, seconds: markingSeconds },
      markingSeconds * 1000 + 60_000,
    );
    await sleep(MARKING_MARGIN_SECONDS * 1000);
    const sample = await posts(seconds);
    const marked = await marking;
    await sleep(DRAIN_MS);
    const after = await markCounters(server);
    const writes = after.writes - before.writes;
    const received = after.marks - before.marks;
    const bound = writeBound(READERS, marked.spanSeconds, READ_MARK_INTERVAL_MS);
    return {
      ...sample,
      details: {
        ...sample.details,
        marksPerSecond: marked.marks / marked.seconds,
        marksReceivedPerSecond: received / marked.seconds,
        // The last write covers the marks of the marking's last interval: it counts with the window.
        writesPerSecond: writes / (marked.seconds + READ_MARK_INTERVAL_MS / 1000),
        writesPerMark: received > 0 ? writes / received : Number.NaN,
        writes,
        writeBound: bound,
        writesOverBound: Math.max(0, writes - bound),
        marksLost: Math.max(0, marked.marks - received),
        markErrors: marked.errors,
        closedReaders: marked.closedReaders,
        readersSeenSeqAverage: marked.seenSeqTotal / READERS,
        readersClientCpuPercent: marked.clientCpuPercent,
      },
    };
  };
}

/** The rounds' marking figures: `detail` of the marking side as the value, `errors` as flagged. */
function markingSamples(
  samples: readonly Sample[],
  detail: string,
  errors: (details: Record<string, number>) => number,
): Sample[] {
  return samples.map((sample) => {
    const details = sample.details ?? {};
    return { ...sample, value: details[detail] ?? Number.NaN, errors: errors(details) };
  });
}

async function measureReadMarks(
  context: ScenarioContext,
  scenario: string,
  database: string,
  databaseUrl?: string,
): Promise<Figure[]> {
  const setup = await prepareWrites(context, databaseUrl);
  const api = new ApiClient(setup.server.url);
  const readerTokens: string[] = [];
  while (readerTokens.length < READERS) {
    readerTokens.push((await api.registerUser()).accessToken);
  }
  const readers = BenchWorker.start(context.scope, 'load/read-marks-load', LOAD_CORE);
  // `join` makes each reader a member of its public room: reader k reads room k % ROOMS.
  await readers.request('open', {
    url: webSocketUrl(setup.server.url),
    readerTokens,
    roomIds: setup.roomIds,
    concurrency: 20,
    seconds: 60,
  });
  const posts = postMeasurement(context, setup, 100, ROOMS);
  const samples = await interleavedRounds(context, {
    postsAlone: posts,
    postsWhileMarking: whileMarking(posts, setup.server, readers),
  });
  const marking = samples.postsWhileMarking;
  const title = `${database}, 100 connections posting over 10 rooms, ${READERS} members (${READERS_PER_ROOM} per room) marking read every ${MARK_INTERVAL_MS} ms`;
  const notes = [
    `${READERS} reader connections, one per member, each joined to its room (so every post reaches its room's ${READERS_PER_ROOM} readers on both sides), held by one load process on the load core beside wrk; each reader marks \`read {roomId, seq}\` with the highest seq it saw (its incoming bytes are scanned, not parsed), the readers spread evenly over each ${MARK_INTERVAL_MS} ms; posts alone: the same readers connected and idle`,
    `marks: \`${MARKS}\` and \`${WRITES}\` from /metrics before the marking and ${DRAIN_MS} ms after it (the server writes a member's last merged marks one interval after its write before); a marking of T s costs at most T + 1 writes per member (the first mark is written at once, then one merged write per second, the last one a second after the marking), so writes/s is over T + 1 s and writes per mark, over the marks received, is (T + 1) / 10 T at the bound (0.114 for T = 7 s, the full run's 6 s of wrk and the margins; 0.117 with --quick; 0.1 for a long marking); flagged when the writes exceed ${READERS} × (⌊seconds from the first mark to the last⌋ + 2) (writeBound: one write per member and room per second while marking, and the last merged one); marks sent but not counted by the server, error events and readers closed count as errors too`,
  ];
  const common = { scenario, better: 'higher' as const, notes };
  const markErrors = (details: Record<string, number>) =>
    (details.marksLost ?? 0) + (details.markErrors ?? 0) + (details.closedReaders ?? 0);
  return [
    figureOf({
      ...common,
      id: `${scenario}-posts`,
      title: `${title}: posts/s while marking`,
      unit: 'msg/s',
      switchboard: { title: 'Switchboard, posts while marking', samples: marking },
      baseline: {
        title: 'Switchboard, the same posts, the readers connected and idle',
        samples: samples.postsAlone,
      },
    }),
    figureOf({
      ...common,
      id: `${scenario}-marks`,
      title: `${title}: read marks sent/s`,
      unit: 'marks/s',
      switchboard: {
        title: 'Switchboard',
        samples: markingSamples(marking, 'marksPerSecond', markErrors),
      },
    }),
    figureOf({
      ...common,
      id: `${scenario}-writes`,
      title: `${title}: read-position writes/s (bound ${READERS}/s)`,
      unit: 'writes/s',
      better: 'lower',
      switchboard: {
        title: 'Switchboard',
        samples: markingSamples(marking, 'writesPerSecond', (details) => details.writesOverBound),
      },
    }),
    figureOf({
      ...common,
      id: `${scenario}-writes-per-mark`,
      title: `${title}: read-position writes per mark`,
      unit: 'writes/mark',
      better: 'lower',
      switchboard: {
        title: 'Switchboard',
        samples: markingSamples(marking, 'writesPerMark', (details) => details.writesOverBound),
      },
    }),
  ];
}

const sqliteReadMarks: Scenario = {
  name: 'read-marks',
  describe:
    'POST /api/rooms/:id/messages on SQLite, 100 connections over 10 rooms, alone and while 100 members joined to the rooms mark them read every 100 ms (WS read): posts/s, marks/s, read-position writes/s and per mark',
  run: (context) => measureReadMarks(context, 'read-marks', 'SQLite'),
};

const postgresReadMarks: Scenario = {
  name: 'postgres-read-marks',
  describe: 'read-marks on PostgreSQL',
  needs: ['postgresAdminUrl'],
  async run(context) {
    const databaseUrl = await createBenchDatabase(
      context.scope,
      context.services.postgresAdminUrl ?? '',
    );
    const figures = await measureReadMarks(
      context,
      'postgres-read-marks',
      'PostgreSQL',
      databaseUrl,
    );
    const unpinned =
      'PostgreSQL runs on this machine unpinned: its CPU is in neither process figure but shows in the core figures';
    return figures.map((figure) => ({ ...figure, notes: [...figure.notes, unpinned] }));
  },
};

export const READ_MARK_SCENARIOS: Scenario[] = [sqliteReadMarks, postgresReadMarks];
