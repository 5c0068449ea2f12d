import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { RealtimeClient } from '@libs/client';
import { serveRunner } from '@bench/support/worker-protocol';
import { countFromBytes } from './byte-counter';
import { DeliveryCounts, DeliveryTally } from './delivery-tally';
import { ResumeTracker } from './resume-tracker';
import { FleetRoutes, Refusals, RoutedWebSocket, routedWebSocketClass } from './routed-websocket';

/**
 * A client process of the scale suite: holds a few thousand WebSocket connections of one
 * instance, from a loopback address of its own. Raw `ws` sockets for most (cheap: they only
 * count deliveries); RealtimeClient for the ones that come back after their instance is killed.
 */

export interface HeldSocket {
  index: number;
  token: string;
  instance: number;
  resuming: boolean;
  rooms: string[];
}

export interface OpenRequest {
  /** Base URLs by instance, `http://127.0.0.1:port`. */
  urls: string[];
  localAddress: string;
  sockets: HeldSocket[];
  concurrency: number;
  seconds: number;
}

export interface OpenResult {
  opened: number;
  /** Indices of the sockets that did not open (and join) in time. */
  failed: number[];
  firstError?: string;
}

export interface HolderCounts extends DeliveryCounts {
  /** Raw sockets the server closed (or lost) since they opened. */
  rawClosed: number;
  /** RealtimeClient connections lost since they opened (they come back by themselves). */
  resumingDropped: number;
  /** Socket errors by kind (connection refused, handshake timed out, refused upgrades …). */
  errors: Record<string, number>;
  refusals: Refusals;
  cpuSeconds: number;
}

export interface ResumeProgress {
  resuming: number;
  back: number;
  /** ms from the kill to `reconnected` (back, rooms rejoined, caught up), of those back. */
  backMs: number[];
  reconnectAttempts: number;
  /** Clients that stopped for good (`closed` settled): a failure of the client. */
  gaveUp: number;
  firstGaveUp?: string;
}

export interface ResumeCheck {
  clients: number;
  caughtUp: number;
  missing: number;
  duplicates: number;
  clientsWithMissing: number;
  clientsWithDuplicates: number;
}

/** Per attempt of an upgrade and its joins; then the next attempt, after a jittered pause. */
const STEP_TIMEOUT_MS = 15_000;
const RETRY_PAUSE_MS = 500;
/** RealtimeClient's per-request wait: joins and syncs queue behind a storm on the survivor. */
const REQUEST_TIMEOUT_MS = 20_000;

const tally = new DeliveryTally();
const refusals: Refusals = {};
const errors: Record<string, number> = {};
let fleet: FleetRoutes = { urls: [], routes: [], localAddress: '127.0.0.1' };
let Routed = routedWebSocketClass(fleet, tally, refusals, errors, STEP_TIMEOUT_MS);
const rawSockets: WebSocket[] = [];
let rawClosed = 0;
let killedAt = 0;
let reconnectAttempts = 0;
/** Connections of RealtimeClients that were lost (each then reconnects). */
let resumingDropped = 0;

interface Resuming {
  client: RealtimeClient;
  tracker: ResumeTracker;
  backAt?: number;
  gaveUp?: string;
}
const resumingClients: Resuming[] = [];

async function open(request: OpenRequest): Promise<OpenResult> {
  fleet = {
    urls: request.urls.map((url) => url.replace(/^http/, 'ws')),
    routes: request.urls.map((_, index) => index),
    localAddress: request.localAddress,
  };
  Routed = routedWebSocketClass(fleet, tally, refusals, errors, STEP_TIMEOUT_MS);
  const deadline = Date.now() + request.seconds * 1000;
  const failed: number[] = [];
  let firstError: string | undefined;
  let next = 0;
  const lane = async () => {
    while (next < request.sockets.length) {
      const socket = request.sockets[next++];
      if (Date.now() > deadline) {
        failed.push(socket.index);
        firstError ??= `not tried within ${request.seconds} s`;
        continue;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          await (socket.resuming ? openResuming(request, socket) : openRaw(request, socket));
          break;
        } catch (error) {
          if (Date.now() + RETRY_PAUSE_MS > deadline) {
            failed.push(socket.index);
            firstError ??= (error as Error).message;
            break;
          }
          await sleep(RETRY_PAUSE_MS * (0.5 + Math.random()) * Math.min(attempt, 4));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, lane));
  return { opened: request.sockets.length - failed.length, failed, firstError };
}

async function openRaw(request: OpenRequest, held: HeldSocket): Promise<void> {
  const socket = new Routed(`${fleet.urls[held.instance]}/ws`, {
    headers: { Authorization: `Bearer ${held.token}` },
  });
  try {
    // Bounded by the socket's handshake timeout.
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    await withTimeout(joinRaw(socket, held.rooms), 'join');
  } catch (error) {
    socket.terminate();
    throw error;
  }
  countFromBytes(socket, socket.instance, tally);
  rawSockets.push(socket);
  socket.once('close', () => rawClosed++);
}

/** `join` each room and wait for every `joined` (by ref); any `error` answer fails it. */
function joinRaw(socket: RoutedWebSocket, rooms: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const waiting = new Set(rooms.map((_, index) => `j${index}`));
    const onMessage = (data: Buffer) => {
      if (data.indexOf('"ref":"j') < 0) {
        return;
      }
      const frame = JSON.parse(data.toString('utf8')) as { event: string; ref?: string };
      if (frame.event === 'error') {
        finish(new Error(`join refused: ${data.toString('utf8')}`));
      } else if (frame.event === 'joined' && frame.ref && waiting.delete(frame.ref)) {
        if (waiting.size === 0) {
          finish();
        }
      }
    };
    const onClose = (code: number) => finish(new Error(`closed (${code}) while joining`));
    const finish = (error?: Error) => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
      if (error) {
        reject(error);
      } else {
        resolve();
      }
    };
    socket.on('message', onMessage);
    socket.on('close', onClose);
    rooms.forEach((roomId, index) =>
      socket.send(JSON.stringify({ event: 'join', data: { roomId }, ref: `j${index}` })),
    );
  });
}

async function openResuming(request: OpenRequest, held: HeldSocket): Promise<void> {
  // The upgrade is bounded by the socket's handshake timeout.
  const client = await RealtimeClient.connect({
    baseUrl: request.urls[held.instance],
    accessToken: held.token,
    WebSocket: Routed,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const resuming: Resuming = { client, tracker: new ResumeTracker() };
  client.on('message', (message) => resuming.tracker.message(message));
  try {
    for (const roomId of held.rooms) {
      const joined = await client.join(roomId);
      resuming.tracker.joined(roomId, joined.lastSeq);
    }
  } catch (error) {
    client.close();
    throw error;
  }
  client.on('reconnecting', ({ attempt }) => {
    reconnectAttempts++;
    resumingDropped += attempt === 1 ? 1 : 0;
  });
  client.on('reconnected', () => (resuming.backAt = Date.now()));
  void client.closed.then(({ code, reason }) => (resuming.gaveUp ??= `${code} ${reason}`));
  resumingClients.push(resuming);
}

function counts(): HolderCounts {
  const cpu = process.cpuUsage();
  return {
    ...tally.counts(),
    rawClosed,
    resumingDropped,
    errors: { ...errors },
    refusals: { ...refusals },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** The balancer notices the dead instance: what was meant for `from` goes to `to` from now on. */
function failover(request: { from: number; to: number; killedAt: number }): void {
  fleet.routes[request.from] = request.to;
  killedAt = request.killedAt;
}

function progress(): ResumeProgress {
  const back = resumingClients.filter((resuming) => resuming.backAt !== undefined);
  const gaveUp = resumingClients.filter((resuming) => resuming.gaveUp !== undefined);
  return {
    resuming: resumingClients.length,
    back: back.length,
    backMs: back.map((resuming) => (resuming.backAt ?? 0) - killedAt),
    reconnectAttempts,
    gaveUp: gaveUp.length,
    firstGaveUp: gaveUp[0]?.gaveUp,
  };
}

function check(request: { lastSeq: Record<string, number> }): ResumeCheck {
  const result: ResumeCheck = {
    clients: resumingClients.length,
    caughtUp: 0,
    missing: 0,
    duplicates: 0,
    clientsWithMissing: 0,
    clientsWithDuplicates: 0,
  };
  for (const { tracker } of resumingClients) {
    const behind = tracker.behind(request.lastSeq);
    const missing = tracker.missing + behind;
    result.caughtUp += behind === 0 ? 1 : 0;
    result.missing += missing;
    result.duplicates += tracker.duplicates;
    result.clientsWithMissing += missing > 0 ? 1 : 0;
    result.clientsWithDuplicates += tracker.duplicates > 0 ? 1 : 0;
  }
  return result;
}

function closeAll(): void {
  // The servers are stopped right after: no close handshakes to wait for.
  rawSockets.splice(0).forEach((socket) => socket.terminate());
  resumingClients.splice(0).forEach(({ client }) => client.close());
}

async function withTimeout<T>(promise: Promise<T>, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${step} took over ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

serveRunner({ open, counts, failover, progress, check, closeAll });
