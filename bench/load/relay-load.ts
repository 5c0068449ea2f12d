import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { serveRunner } from '@bench/support/worker-protocol';
import { Arrivals, countArrivals } from './arrival-counter';
import { connect, runBounded } from './ws-connections';

/** Well inside the server's heartbeat (WS_HEARTBEAT_MS, 30 s): the counted receivers cannot answer its pings. */
const KEEPALIVE_MS = 10_000;

/**
 * The fleet-relay load: members of many rooms connected to one instance, senders connected to
 * another, so that every message reaches its members only through the relay. Senders keep a
 * window of sends in flight; the members' bytes are only counted (countArrivals).
 */
const members: WebSocket[] = [];
const senders: WebSocket[] = [];
let current: Arrivals | undefined;
/** Set while a run sends: a sender's reply (ack or error) to one of its sends. */
let onReply: ((sender: WebSocket, ok: boolean, text: string) => void) | undefined;

interface OpenLoad {
  /** ws:// URL of the members' instance. */
  membersUrl: string;
  /** ws:// URL of the senders' instance. */
  sendersUrl: string;
  roomIds: string[];
  /** A room's k-th connection is memberTokens[k]'s: each room has memberTokens.length members. */
  memberTokens: string[];
  /** A member of every room (its owner): every sender connection is this user's. */
  senderToken: string;
  senderConnections: number;
  concurrency: number;
  seconds: number;
}

async function open(load: OpenLoad): Promise<{ members: number; senders: number }> {
  const perRoom = load.memberTokens.length;
  const total = load.roomIds.length * perRoom;
  const opened = await runBounded(
    total,
    load.concurrency,
    performance.now() + load.seconds * 1000,
    async (index) => {
      const roomId = load.roomIds[Math.floor(index / perRoom)];
      const token = load.memberTokens[index % perRoom];
      members.push(await connect({ url: load.membersUrl, token, roomId }, true));
    },
  );
  if (opened.failed > 0 || members.length < total) {
    throw new Error(`opened ${members.length} of ${total} members: ${opened.firstError}`);
  }
  members.forEach((socket) => countArrivals(socket, () => current));
  // Unsolicited pongs: the server's heartbeat takes any.
  setInterval(
    () => members.forEach((socket) => socket.readyState === WebSocket.OPEN && socket.pong()),
    KEEPALIVE_MS,
  );
  for (let index = 0; index < load.senderConnections; index++) {
    const sender = await connect(
      { url: load.sendersUrl, token: load.senderToken, roomId: null },
      true,
    );
    sender.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.includes('"event":"ack"')) {
        onReply?.(sender, true, text);
      } else if (text.includes('"event":"error"')) {
        onReply?.(sender, false, text);
      }
    });
    senders.push(sender);
  }
  return { members: members.length, senders: senders.length };
}

interface RelayRun {
  roomIds: string[];
  /** Members per room (the same in every room): the deliveries one message makes. */
  membersPerRoom: number;
  seconds: number;
  /** Sends in flight per sender connection. */
  window: number;
  /** After the sending stops, how long the last acks and deliveries may take. */
  drainTimeoutMs: number;
}

export interface RelayResult {
  /** Sends acknowledged (committed) and refused (an error frame) by the senders' instance. */
  acked: number;
  refused: number;
  firstRefusal?: string;
  /** Members' receipts of this run's messages, and how many acked × membersPerRoom makes. */
  deliveries: number;
  missing: number;
  /** From the first send to the last receipt. */
  seconds: number;
  /** Members the server had closed by the end. */
  closedMembers: number;
  /** This process's CPU over the wall time, %: near 100 means the load generator was the limit. */
  clientCpuPercent: number;
}

/**
 * Sends for `seconds`, rooms in turn, `window` sends in flight per sender connection (the next
 * goes when one is answered), then waits for the last acks and deliveries.
 */
async function relay(load: RelayRun): Promise<RelayResult> {
  const runId = randomBytes(4).toString('hex');
  const arrivals: Arrivals = {
    // Every message's body starts with this run's prefix; the server writes it right after the key.
    marker: Buffer.from(`"body":"relay-${runId}-`),
    received: 0,
    lastAt: 0,
  };
  current = arrivals;
  const result: RelayResult = {
    acked: 0,
    refused: 0,
    deliveries: 0,
    missing: 0,
    seconds: 0,
    closedMembers: 0,
    clientCpuPercent: 0,
  };
  let next = 0;
  let inFlight = 0;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const sendingEnds = startedAt + load.seconds * 1000;
  const sendFrom = (sender: WebSocket) => {
    const index = next++;
    const body = `relay-${runId}-${index}`;
    const roomId = load.roomIds[index % load.roomIds.length];
    inFlight++;
    sender.send(JSON.stringify({ event: 'send', data: { roomId, body, clientMsgId: body } }));
  };
  // Each sender keeps `window` sends in flight: a reply on it sends the next, until sending ends.
  onReply = (sender, ok, text) => {
    inFlight--;
    if (ok) {
      result.acked++;
    } else {
      result.refused++;
      result.firstRefusal ??= text;
    }
    if (performance.now() < sendingEnds && sender.readyState === WebSocket.OPEN) {
      sendFrom(sender);
    }
  };
  try {
    senders.forEach((sender) => {
      for (let slot = 0; slot < load.window; slot++) {
        sendFrom(sender);
      }
    });
    const drainEnds = sendingEnds + load.drainTimeoutMs;
    while (performance.now() < drainEnds) {
      const sending = performance.now() < sendingEnds;
      const delivered = arrivals.received >= result.acked * load.membersPerRoom;
      if (!sending && inFlight <= 0 && delivered) {
        break;
      }
      await sleep(sending ? 50 : 5);
    }
  } finally {
    onReply = undefined;
    current = undefined;
  }
  const expected = result.acked * load.membersPerRoom;
  result.deliveries = arrivals.received;
  result.missing = Math.max(0, expected - arrivals.received);
  result.seconds =
    ((arrivals.received > 0 ? arrivals.lastAt : performance.now()) - startedAt) / 1000;
  result.closedMembers = members.filter((socket) => socket.readyState !== WebSocket.OPEN).length;
  const cpu = process.cpuUsage(cpuBefore);
  result.clientCpuPercent = (cpu.user + cpu.system) / 10 / (performance.now() - startedAt);
  return result;
}

serveRunner({ open, relay });
