import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import WebSocket from 'ws';
import type { RealtimeMessage } from '@libs/protocol';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { createRoom, joinRoom, leaveRoom, postMessage } from '@test/support/room-helpers';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { startTestFleet, TestApp, TestFleet } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';

const ARRIVAL_MS = 5_000;

/**
 * What the previous release (commit 56ee10c, `src/realtime/realtime-fanout.ts`) put on Redis:
 * `serializeFrame` (plain `JSON.stringify({ event, data })`) on `room:<id>` and `user:<id>` under
 * the key prefix; a revocation is the `left` frame itself. It forwarded whatever arrived on those
 * channels to its clients as is.
 */
const previousRelease = {
  channel: (prefix: string, audience: 'room' | 'user', id: string) => `${prefix}${audience}:${id}`,
  frame: (event: string, data: unknown) => Buffer.from(JSON.stringify({ event, data })),
};

interface Frame {
  event: string;
  data: Record<string, unknown>;
}

/** A WebSocket client that keeps every frame's raw text: a corrupted one must show, not throw. */
class RawClient {
  readonly texts: string[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.texts.push(data.toString('utf8')));
  }

  static async connect(app: TestApp, user: RegisteredUser): Promise<RawClient> {
    const socket = new WebSocket(`${app.url.replace(/^http/, 'ws')}/ws`, {
      headers: { Authorization: `Bearer ${user.accessToken}` },
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** The frames that are JSON `{event, data}`, and the texts that are not. */
  parsed(): { frames: Frame[]; corrupted: string[] } {
    const frames: Frame[] = [];
    const corrupted: string[] = [];
    for (const text of this.texts) {
      try {
        const frame = JSON.parse(text) as { event: unknown; data: Record<string, unknown> };
        if (typeof frame.event !== 'string' || typeof frame.data !== 'object') {
          throw new Error('not a frame');
        }
        frames.push({ event: frame.event, data: frame.data });
      } catch {
        corrupted.push(text);
      }
    }
    return { frames, corrupted };
  }

  async waitFor(what: string, matches: (frame: Frame) => boolean) {
    await waitUntil(
      () => this.parsed().frames.some(matches),
      ARRIVAL_MS,
      `${what}; got ${JSON.stringify(this.texts)}`,
    );
  }

  async request(event: string, data: unknown, answer: string): Promise<void> {
    const before = this.texts.length;
    this.socket.send(JSON.stringify({ event, data }));
    await waitUntil(
      () => this.texts.slice(before).some((text) => text.startsWith(`{"event":"${answer}"`)),
      ARRIVAL_MS,
      `"${answer}" after "${event}"`,
    );
  }

  close(): void {
    this.socket.terminate();
  }
}

/**
 * Guarantee 13: an instance of this release beside one of the previous release on the same Redis,
 * the previous one simulated by the exact bytes it published and by a subscriber that forwards
 * what it receives as it did. Two instances of this release (A and B) run in process.
 */
describe('a rolling upgrade: the previous release beside this one on one Redis (services)', () => {
  let fleet: TestFleet;
  let a: TestApp;
  let b: TestApp;
  let prefix: string;
  let redis: Redis;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    redis = new Redis(requireTestRedisUrl(), { lazyConnect: true });
    await redis.connect();
    fleet = await startTestFleet(2);
    [a, b] = fleet.apps;
    prefix = a.config.redis.keyPrefix;
  }, 60_000);

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await fleet?.close();
    redis?.disconnect();
  });

  const connect = async (app: TestApp, user: RegisteredUser) => {
    const client = await RawClient.connect(app, user);
    clients.push(client);
    return client;
  };

  const unreadableOnA = async (reason: string) =>
    sumOf(
      parsePrometheusText((await request(a.server).get('/metrics').expect(200)).text),
      'switchboard_relay_unreadable_total',
      { reason },
    );

  it("delivers the previous release's frames and this release's, drops and counts the rest, never corrupted", async () => {
    const alice = await registerUser(a);
    const room = await createRoom(a, alice);
    const onA = await connect(a, alice);
    await onA.request('join', { roomId: room.id }, 'joined');
    const [versionBefore, malformedBefore] = [
      await unreadableOnA('version'),
      await unreadableOnA('malformed'),
    ];

    const fromPrevious: Partial<RealtimeMessage> = {
      id: randomUUID(),
      roomId: room.id,
      seq: 1,
      senderId: alice.id,
      body: 'from the previous release',
      clientMsgId: null,
      createdAt: new Date().toISOString(),
    };
    await redis.publish(
      previousRelease.channel(prefix, 'room', room.id),
      previousRelease.frame('message', fromPrevious),
    );
    // Main between the relay's introduction and its versioning: an origin tag and no version.
    await redis.publish(
      previousRelease.channel(prefix, 'room', room.id),
      Buffer.concat([Buffer.from(randomUUID()), previousRelease.frame('message', fromPrevious)]),
    );
    // A later release on this release's channel.
    await redis.publish(
      `${prefix}relay:room:${room.id}`,
      Buffer.concat([Buffer.from([2, 1]), Buffer.from(randomUUID()), Buffer.from('{"v":2}')]),
    );
    // Positive control: this release's frame from the other instance.
    await postMessage(b, alice, room.id, { body: 'from B' });
    await onA.waitFor('the message from B', (frame) => frame.data['body'] === 'from B');

    const { frames, corrupted } = onA.parsed();
    expect(corrupted).toEqual([]);
    expect(
      frames.filter((frame) => frame.event === 'message').map((frame) => frame.data['body']),
    ).toEqual(['from the previous release', 'from B']);
    expect(await unreadableOnA('version')).toBe(versionBefore + 1);
    expect(await unreadableOnA('malformed')).toBe(malformedBefore + 1);
  });

  it("acts on the previous release's revocation: the user's connections leave the room", async () => {
    const alice = await registerUser(a);
    const bob = await registerUser(a);
    const room = await createRoom(a, alice);
    await joinRoom(a, bob, room.id);
    const aliceOnA = await connect(a, alice);
    const bobOnA = await connect(a, bob);
    await aliceOnA.request('join', { roomId: room.id }, 'joined');
    await bobOnA.request('join', { roomId: room.id }, 'joined');

    await redis.publish(
      previousRelease.channel(prefix, 'user', bob.id),
      previousRelease.frame('left', { roomId: room.id }),
    );
    await bobOnA.waitFor('left', (frame) => frame.event === 'left');

    await postMessage(b, alice, room.id, { body: 'after the revocation' });
    // Positive control: the message reached instance A (Alice has it) ...
    await aliceOnA.waitFor('the message', (frame) => frame.data['body'] === 'after the revocation');
    // ... and anything for Bob written with it would be before his pong.
    await bobOnA.request('ping', {}, 'pong');
    const bobs = bobOnA.parsed();
    expect(bobs.corrupted).toEqual([]);
    const events = bobs.frames.map((frame) => frame.event).filter((event) => event !== 'presence');
    expect(events).toEqual(['joined', 'left', 'pong']);
  });

  it('publishes for the previous release only plain frames it reads as its own, revocations included', async () => {
    const alice = await registerUser(a);
    const bob = await registerUser(a);
    const room = await createRoom(a, alice);
    await joinRoom(a, bob, room.id);
    // An instance of the previous release with members of the room: it subscribes these two.
    const subscriber = redis.duplicate();
    const heard: { channel: string; text: string }[] = [];
    subscriber.on('messageBuffer', (channel: Buffer, data: Buffer) =>
      heard.push({ channel: channel.toString(), text: data.toString('utf8') }),
    );
    const roomChannel = previousRelease.channel(prefix, 'room', room.id);
    const bobChannel = previousRelease.channel(prefix, 'user', bob.id);
    await subscriber.subscribe(roomChannel, bobChannel);
    try {
      const message = await postMessage(a, alice, room.id, { body: 'from this release' });
      await leaveRoom(a, bob, room.id);
      await waitUntil(() => heard.length >= 2, ARRIVAL_MS, 'two messages on its channels');

      // What it forwards to its clients as is: each must be a frame as it would have built it.
      expect(heard.map(({ channel, text }) => [channel, JSON.parse(text)])).toEqual([
        [roomChannel, { event: 'message', data: message }],
        [bobChannel, { event: 'left', data: { roomId: room.id } }],
      ]);
      // It leaves the room on a frame that starts like this (56ee10c `revokedRoomOf`).
      expect(heard[1].text.startsWith('{"event":"left"')).toBe(true);
    } finally {
      subscriber.disconnect();
    }
  });
});
