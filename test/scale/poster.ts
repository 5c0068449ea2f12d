import WebSocket from 'ws';
import { INSTANCE_COUNT } from './scale-plan';
import { postBody, PostPhase } from './post-body';

/** Sends are paced on this tick; a late tick sends what fell due meanwhile, up to a bound. */
const TICK_MS = 10;
const MAX_PER_TICK = 20;
const CONNECT_TIMEOUT_MS = 10_000;

interface PosterSocket {
  instance: number;
  socket: WebSocket;
}

interface SentPost {
  phase: PostPhase;
  origin: number;
  room: number;
}

/** Posts stored (acknowledged) per phase: acked[phase][origin][room]. */
export type AckedPosts = Record<PostPhase, number[][]>;

export interface PostTally {
  sent: number;
  acked: number;
  /** Answered `error` (rate limited, unavailable …). */
  refused: number;
  firstRefusal?: string;
  /** Sent to an instance that died before it answered: stored or not, nobody knows. */
  lostWithInstance: number;
  /** No answer yet (none once `waitForAnswers` returned true). */
  unanswered: number;
  ackedByPhase: AckedPosts;
}

/**
 * The suite's writers: `postsPerSecond` WebSocket `send`s spread round robin over the rooms and the
 * live instances, each over a few connections of poster users (members of every room, joined to
 * none, so they receive only their acks). Each body carries its phase, the instance it went to
 * and its send time (see post-body.ts).
 */
export class Poster {
  private readonly sockets: PosterSocket[] = [];
  private readonly pending = new Map<string, SentPost>();
  private readonly dead = new Set<number>();
  private phase: PostPhase = 'steady';
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private due = 0;
  private index = 0;
  private readonly tally: PostTally;

  constructor(
    private readonly urls: string[],
    private readonly roomIds: string[],
    private readonly postsPerSecond: number,
  ) {
    const perRoom = () =>
      Array.from({ length: INSTANCE_COUNT }, () => new Array<number>(roomIds.length).fill(0));
    this.tally = {
      sent: 0,
      acked: 0,
      refused: 0,
      lostWithInstance: 0,
      unanswered: 0,
      ackedByPhase: { steady: perRoom(), kill: perRoom() },
    };
  }

  /** One connection per token on each instance (tokens[instance][k]). */
  async connect(tokens: string[][]): Promise<void> {
    await Promise.all(
      tokens.flatMap((ofInstance, instance) =>
        ofInstance.map(async (token) => {
          const socket = new WebSocket(`${this.urls[instance].replace(/^http/, 'ws')}/ws`, {
            headers: { Authorization: `Bearer ${token}` },
            perMessageDeflate: false,
            handshakeTimeout: CONNECT_TIMEOUT_MS,
          });
          await new Promise<void>((resolve, reject) => {
            socket.once('open', resolve);
            socket.once('error', reject);
          });
          socket.on('message', (data: Buffer) => this.answer(data));
          socket.on('error', () => undefined);
          this.sockets.push({ instance, socket });
        }),
      ),
    );
  }

  /** Starts posting (or goes on, labelling what follows with `phase`). */
  post(phase: PostPhase): void {
    this.phase = phase;
    if (this.timer) {
      return;
    }
    this.startedAt = performance.now();
    this.due = 0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The instance is gone: nothing more goes there; what it did not answer counts as lost. */
  instanceDied(instance: number): void {
    this.dead.add(instance);
    for (const [ref, post] of this.pending) {
      if (post.origin === instance) {
        this.pending.delete(ref);
        this.tally.lostWithInstance++;
      }
    }
  }

  /** Waits (bounded) until every live instance answered every post (of `phase`). */
  async waitForAnswers(timeoutMs: number, phase?: PostPhase): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const waiting = () => (phase ? this.unansweredIn(phase) : this.pending.size);
    while (waiting() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return waiting() === 0;
  }

  result(): PostTally {
    return { ...this.tally, unanswered: this.pending.size };
  }

  /** Posts of `phase` still waiting for their answer. */
  unansweredIn(phase: PostPhase): number {
    return [...this.pending.values()].filter((post) => post.phase === phase).length;
  }

  close(): void {
    this.stop();
    this.sockets.forEach(({ socket }) => socket.terminate());
  }

  private tick(): void {
    const owed = Math.floor(((performance.now() - this.startedAt) / 1000) * this.postsPerSecond);
    const count = Math.min(MAX_PER_TICK, owed - this.due);
    for (let sent = 0; sent < count; sent++) {
      this.sendOne();
    }
    // What a stall skipped past the bound is skipped: the rate is an upper bound, never a burst.
    this.due = Math.max(this.due + count, owed - MAX_PER_TICK);
  }

  private sendOne(): void {
    const live = this.sockets.filter(
      ({ instance, socket }) => !this.dead.has(instance) && socket.readyState === WebSocket.OPEN,
    );
    if (live.length === 0) {
      return;
    }
    const index = this.index++;
    // A stride coprime with the room count visits every room evenly; instances alternate.
    const room = (index * 37) % this.roomIds.length;
    const instances = [...new Set(live.map(({ instance }) => instance))].sort();
    const origin = instances[index % instances.length];
    const ofOrigin = live.filter(({ instance }) => instance === origin);
    const { socket } = ofOrigin[Math.floor(index / instances.length) % ofOrigin.length];
    const ref = `p${index}`;
    const body = postBody({ phase: this.phase, origin, sentAt: Date.now() }, index);
    this.pending.set(ref, { phase: this.phase, origin, room });
    this.tally.sent++;
    socket.send(
      JSON.stringify({
        event: 'send',
        data: { roomId: this.roomIds[room], body, clientMsgId: `scale-${index}` },
        ref,
      }),
    );
  }

  private answer(data: Buffer): void {
    const frame = JSON.parse(data.toString('utf8')) as {
      event: string;
      ref?: string;
      data?: { message?: string; code?: string };
    };
    const post = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (!post || frame.ref === undefined) {
      return;
    }
    this.pending.delete(frame.ref);
    if (frame.event === 'ack') {
      this.tally.acked++;
      this.tally.ackedByPhase[post.phase][post.origin][post.room]++;
    } else {
      this.tally.refused++;
      this.tally.firstRefusal ??= `${frame.data?.code}: ${frame.data?.message}`;
    }
  }
}
