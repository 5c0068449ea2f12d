import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { CheckedWebSocket } from '@test/support/checked-web-socket';
import { RealtimeClient, RealtimeMessage } from '@libs/client';
import { bearer, registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { NginxProcess } from '@test/support/nginx-process';
import { parsePrometheusText, sumOf } from '@test/support/prometheus-text';
import { createRoom, RoomBody } from '@test/support/room-helpers';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { LoadResult, SteadyHttpLoad } from '@test/support/steady-http-load';
import { requireTestDatabaseUrl } from '@test/support/test-database';
import { requireTestRedisUrl } from '@test/support/test-redis';
import { sleep, waitUntil } from '@test/support/wait-until';

/** The load. Scaled to a 2-core machine shared with other test runs; see the README. */
const HTTP_RATE_PER_SECOND = 200;
const HTTP_CONCURRENCY = 32;
const ROOMS = 10;
const HTTP_USERS = 4;
const WS_USERS = 20;
/** Each WebSocket user has one client in every room: 200 clients. */
const WS_CLIENTS = WS_USERS * ROOMS;
/** Each client sends one message about this often (jittered): 200 clients, ~50 messages/s. */
const WS_SEND_INTERVAL_MS = 4000;

const DRAIN_DELAY_MS = 1000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** An instance back in service gets this many requests from nginx before the next restart. */
const BACK_IN_SERVICE_REQUESTS = 20;
/** nginx re-admits a restarted instance after its fail_timeout (2 s in upstreams.conf). */
const BACK_IN_SERVICE_MS = 30_000;
const LOAD_BEFORE_AND_AFTER_MS = 3000;
/** Milliseconds in PRODUCT.md (guarantee 5); generous for a busy machine. */
const BUS_DELAY_MS = 1000;
const NEWEST_PAGE = `before=${Number.MAX_SAFE_INTEGER}&limit=20`;

interface FollowingClient {
  client: RealtimeClient;
  roomId: string;
  joinedAt: number;
  delivered: RealtimeMessage[];
}

interface StoredMessage {
  id: string;
  roomId: string;
  seq: number;
  clientMsgId: string | null;
}

/** Requests the instance answered, its /metrics (which this very call asks) left out. */
async function requestsServed(server: ServerProcess): Promise<number> {
  const response = await fetch(`${server.url}/metrics`);
  const samples = parsePrometheusText(await response.text());
  const name = 'switchboard_http_request_duration_seconds_count';
  return sumOf(samples, name) - sumOf(samples, name, { route: '/metrics' });
}

/** Every message of the suite's database, straight from PostgreSQL (no cache in the way). */
async function storedMessages(databaseUrl: string): Promise<StoredMessage[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<StoredMessage>(
      'SELECT id, "roomId", seq::int AS seq, "clientMsgId" FROM messages ORDER BY "roomId", seq',
    );
    return result.rows;
  } finally {
    await client.end();
  }
}

/**
 * PRODUCT.md guarantee 10: a rolling restart of two instances behind the shipped nginx, under
 * steady HTTP and WebSocket load, each instance stopped with SIGTERM and started again in turn.
 */
describe('rolling restart under load (services)', () => {
  let setup: ServerSetup;
  const instances: ServerProcess[] = [];
  let nginx: NginxProcess;
  const followers: FollowingClient[] = [];

  beforeAll(async () => {
    requireTestRedisUrl();
    requireTestDatabaseUrl();
    setup = await createServerSetup({
      SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      TRUST_PROXY: '127.0.0.1',
      // Only an invalidation, never an expiry, may refresh a cached page here.
      CACHE_TTL_MS: '600000',
      WS_MESSAGE_RATE: '1000',
    });
    instances.push(
      ...(await Promise.all([
        ServerProcess.start(setup.environment),
        ServerProcess.start(setup.environment),
      ])),
    );
    nginx = await NginxProcess.start(instances.map((instance) => instance.port));
  }, 60_000);

  afterAll(async () => {
    for (const { client } of followers) {
      client.close();
    }
    await nginx?.stop();
    await Promise.all(instances.map((instance) => instance.kill()));
    await setup?.remove();
  });

  it('fails no request, loses or repeats no message, leaves no stale page', async () => {
    const proxy = { server: nginx.url, url: nginx.url };
    const owner = await registerUser(proxy);
    const rooms: RoomBody[] = [];
    for (let i = 0; i < ROOMS; i++) {
      rooms.push(await createRoom(proxy, owner, { visibility: 'public' }));
    }
    const httpUsers = [owner];
    for (let i = 1; i < HTTP_USERS; i++) {
      httpUsers.push(await registerUser(proxy));
    }
    const wsUsers: RegisteredUser[] = [];
    for (let i = 0; i < WS_USERS; i++) {
      wsUsers.push(await registerUser(proxy));
    }
    for (const user of httpUsers.slice(1)) {
      for (const room of rooms) {
        await fetch(`${nginx.url}/api/rooms/${room.id}/members/me`, {
          method: 'PUT',
          headers: bearer(user.accessToken),
        });
      }
    }

    // 200 clients, one per user and room, each following its room through nginx.
    for (let batch = 0; batch < WS_CLIENTS; batch += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, offset) => {
          const index = batch + offset;
          const user = wsUsers[index % WS_USERS];
          const room = rooms[Math.floor(index / WS_USERS)];
          const client = await RealtimeClient.connect({
            baseUrl: nginx.url,
            accessToken: () => user.accessToken,
            WebSocket: CheckedWebSocket,
            reconnect: { initialDelayMs: 250, maxDelayMs: 2000 },
            timeoutMs: 20_000,
          });
          const follower: FollowingClient = { client, roomId: room.id, joinedAt: 0, delivered: [] };
          client.on('message', (message) => {
            if (message.roomId === room.id) {
              follower.delivered.push(message);
            }
          });
          follower.joinedAt = (await client.join(room.id)).lastSeq;
          followers.push(follower);
        }),
      );
    }

    // The load: HTTP through nginx, and every client posting now and then.
    const acknowledged = new Map<string, { roomId: string; seq: number }>();
    const wsFailures: string[] = [];
    let wsSends = 0;
    let pick = 0;
    const http = new SteadyHttpLoad(
      nginx.url,
      () => {
        pick += 1;
        const user = httpUsers[pick % httpUsers.length];
        const room = rooms[pick % rooms.length];
        switch (pick % 7) {
          case 0:
          case 1:
            return {
              method: 'POST',
              path: `/api/rooms/${room.id}/messages`,
              token: user.accessToken,
              body: { body: `http ${pick}`, clientMsgId: randomUUID() },
            };
          case 2:
            return { method: 'GET', path: `/api/rooms/${room.id}`, token: user.accessToken };
          case 3:
            return { method: 'GET', path: '/api/users/me', token: user.accessToken };
          default:
            return {
              method: 'GET',
              path: `/api/rooms/${room.id}/messages?${NEWEST_PAGE}`,
              token: user.accessToken,
            };
        }
      },
      HTTP_RATE_PER_SECOND,
      HTTP_CONCURRENCY,
      ({ request, body }: LoadResult<unknown>) => {
        if (request.method === 'POST') {
          const message = body as RealtimeMessage;
          acknowledged.set(message.id, { roomId: message.roomId, seq: message.seq });
        }
      },
    );
    let posting = true;
    const wsPosting = followers.map(async ({ client, roomId }, index) => {
      await sleep(Math.random() * WS_SEND_INTERVAL_MS);
      const sends: Promise<void>[] = [];
      while (posting) {
        wsSends += 1;
        sends.push(
          client.send(roomId, `ws ${index} ${wsSends}`).then(
            (ack) => void acknowledged.set(ack.id, { roomId: ack.roomId, seq: ack.seq }),
            (error: Error) => void wsFailures.push(error.message),
          ),
        );
        await sleep(WS_SEND_INTERVAL_MS * (0.5 + Math.random()));
      }
      await Promise.all(sends);
    });
    const reconnects = { reconnecting: 0, reconnected: 0 };
    const closeCodes: Record<number, number> = {};
    for (const { client } of followers) {
      client.on('reconnecting', ({ code }) => {
        reconnects.reconnecting += 1;
        closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      });
      client.on('reconnected', () => (reconnects.reconnected += 1));
    }

    http.start();
    await sleep(LOAD_BEFORE_AND_AFTER_MS);
    for (let index = 0; index < instances.length; index++) {
      const stopping = instances[index];
      expect(await stopping.stop()).toEqual({ code: 0, signal: null });
      const restarted = await ServerProcess.start(setup.environment, { port: stopping.port });
      instances[index] = restarted;
      const servedAtStart = await requestsServed(restarted);
      await waitUntil(
        async () => (await requestsServed(restarted)) - servedAtStart >= BACK_IN_SERVICE_REQUESTS,
        BACK_IN_SERVICE_MS,
        `nginx to send requests to the restarted instance ${index + 1}`,
      );
    }
    await sleep(LOAD_BEFORE_AND_AFTER_MS);
    posting = false;
    await http.stop();
    await Promise.all(wsPosting);

    // 0 failed HTTP requests, at the rate asked for (give or take a busy machine).
    expect(http.failures).toEqual([]);
    expect(http.succeeded).toBeGreaterThan(0);
    console.log(
      `rolling restart: ${http.succeeded} HTTP requests at ${http.achievedRate.toFixed(0)}/s ` +
        `(${http.skipped} skipped at the concurrency cap), ${wsSends} WebSocket sends, ` +
        `${reconnects.reconnecting} reconnect attempts (close codes ${JSON.stringify(closeCodes)}), ` +
        `${reconnects.reconnected} reconnections`,
    );
    expect(wsFailures).toEqual([]);
    // Every client lost its instance once or twice and came back.
    expect(reconnects.reconnected).toBeGreaterThanOrEqual(WS_CLIENTS);

    // Every acknowledged message is stored exactly once; seqs have no gap.
    const stored = await storedMessages(setup.environment.DATABASE_URL!);
    const storedById = new Map(stored.map((message) => [message.id, message]));
    for (const [id, ack] of acknowledged) {
      expect(storedById.get(id)).toMatchObject(ack);
    }
    const clientMsgIds = stored.map((message) => message.clientMsgId);
    expect(new Set(clientMsgIds).size).toBe(clientMsgIds.length);
    const lastSeq = new Map<string, number>();
    for (const room of rooms) {
      const seqs = stored.filter((message) => message.roomId === room.id).map((m) => m.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      lastSeq.set(room.id, seqs.length);
    }
    expect(stored.length).toBe(acknowledged.size);

    // Every client handed its application the whole room after its join, once and in order.
    await Promise.all(followers.map(({ client }) => client.catchUp()));
    for (const follower of followers) {
      const expected = Array.from(
        { length: lastSeq.get(follower.roomId)! - follower.joinedAt },
        (_, i) => follower.joinedAt + i + 1,
      );
      expect(follower.delivered.map((message) => message.seq)).toEqual(expected);
    }

    // No stale cached page on either instance once the bus has had its time.
    await sleep(BUS_DELAY_MS);
    let hits = 0;
    for (const instance of instances) {
      for (const room of rooms) {
        for (let read = 0; read < 2; read++) {
          const response = await fetch(
            `${instance.url}/api/rooms/${room.id}/messages?${NEWEST_PAGE}`,
            {
              headers: bearer(owner.accessToken),
            },
          );
          const page = (await response.json()) as { items: RealtimeMessage[] };
          expect(page.items.at(-1)?.seq).toBe(lastSeq.get(room.id));
          hits += response.headers.get('x-cache') === 'HIT' ? 1 : 0;
        }
      }
    }
    // The second read of each page came from the cache: the check above read cached pages.
    expect(hits).toBeGreaterThanOrEqual(instances.length * rooms.length);
  }, 170_000);
});
