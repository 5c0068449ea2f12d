import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { FrameScanner } from './frame-scanner';
import { marksDue, marksInRound } from './mark-pacing';
import { connect, runBounded } from './ws-connections';

/** Well inside the server's heartbeat (WS_HEARTBEAT_MS, 30 s): the scanned readers cannot answer its pings. */
const KEEPALIVE_MS = 10_000;
/** How often the marking loop wakes up to send the marks that fell due. */
const TICK_MS = 5;

/**
 * The read-marks load: readers, each a member joined to one room, who receive the room's
 * messages and mark the room read as far as they saw it. Their incoming bytes are only scanned
 * (FrameScanner), not parsed: each post reaches every reader of its room, and a parsing client
 * on the load core would take the CPU wrk needs.
 */
interface Reader {
  socket: WebSocket;
  roomId: string;
  scanner: FrameScanner;
}

const readers: Reader[] = [];

interface OpenLoad {
  url: string;
  /** Reader k is readerTokens[k]'s connection, joined to roomIds[k % roomIds.length]. */
  readerTokens: string[];
  roomIds: string[];
  concurrency: number;
  seconds: number;
}

async function open(load: OpenLoad): Promise<{ readers: number }> {
  const opened = await runBounded(
    load.readerTokens.length,
    load.concurrency,
    performance.now() + load.seconds * 1000,
    async (index) => {
      const roomId = load.roomIds[index % load.roomIds.length];
      const socket = await connect(
        { url: load.url, token: load.readerTokens[index], roomId },
        true,
      );
      readers.push({ socket, roomId, scanner: scan(socket) });
    },
  );
  if (opened.failed > 0 || readers.length < load.readerTokens.length) {
    throw new Error(
      `opened ${readers.length} of ${load.readerTokens.length} readers: ${opened.firstError}`,
    );
  }
  // Unsolicited pongs: the server's heartbeat takes any.
  setInterval(
    () => readers.forEach(({ socket }) => socket.readyState === WebSocket.OPEN && socket.pong()),
    KEEPALIVE_MS,
  ).unref();
  return { readers: readers.length };
}

/** Takes the socket's incoming bytes away from ws's parser and scans them instead. */
function scan(socket: WebSocket): FrameScanner {
  const scanner = new FrameScanner();
  const raw = (socket as unknown as { _socket: Socket })._socket;
  raw.removeAllListeners('data');
  raw.on('data', (chunk: Buffer) => scanner.push(chunk));
  return scanner;
}

interface MarkRun {
  /** Each reader marks once per interval. */
  intervalMs: number;
  seconds: number;
}

export interface MarkResult {
  /** `read` frames sent over the round's `seconds`. */
  marks: number;
  seconds: number;
  /** From the first mark sent to the last: what the server's write bound is counted over. */
  spanSeconds: number;
  /** Error events the readers received meanwhile (a refused mark), and readers the server closed. */
  errors: number;
  closedReaders: number;
  /** The highest seq a reader had seen at the end, summed over the readers: they did see posts. */
  seenSeqTotal: number;
  /** This process's CPU over the wall time, %: near 100 means the load generator was the limit. */
  clientCpuPercent: number;
}

/**
 * Every reader marks its room read up to the highest seq it has seen, once per `intervalMs`,
 * the readers spread evenly over the interval (marksDue), for `seconds`.
 */
async function mark(run: MarkRun): Promise<MarkResult> {
  const pacing = { readers: readers.length, intervalMs: run.intervalMs, seconds: run.seconds };
  const total = marksInRound(pacing);
  const errorsBefore = readers.reduce((sum, reader) => sum + reader.scanner.errors, 0);
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const endsAt = startedAt + run.seconds * 1000;
  let due = 0;
  let marks = 0;
  let lastMarkAt = startedAt;
  while (due < total && performance.now() < endsAt) {
    for (const until = marksDue(pacing, performance.now() - startedAt); due < until; due++) {
      const { socket, roomId, scanner } = readers[due % readers.length];
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ event: 'read', data: { roomId, seq: scanner.highestSeq } }));
        marks++;
        lastMarkAt = performance.now();
      }
    }
    await sleep(TICK_MS);
  }
  // The schedule spans the whole round even when its last mark went a little before the end.
  const seconds = Math.max(run.seconds, (performance.now() - startedAt) / 1000);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    marks,
    seconds,
    spanSeconds: (lastMarkAt - startedAt) / 1000,
    errors: readers.reduce((sum, reader) => sum + reader.scanner.errors, 0) - errorsBefore,
    closedReaders: readers.filter(({ socket }) => socket.readyState !== WebSocket.OPEN).length,
    seenSeqTotal: readers.reduce((sum, reader) => sum + reader.scanner.highestSeq, 0),
    clientCpuPercent: (cpu.user + cpu.system) / 10 / (seconds * 1000),
  };
}

serveRunner({ open, mark });
