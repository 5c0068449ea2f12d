import { CheckedWebSocket } from '@test/support/checked-web-socket';
import { RealtimeClient, RealtimeMessage } from '@libs/client';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { createRoom, postMessage, readHistory } from '@test/support/room-helpers';
import { createServerSetup, ServerProcess, ServerSetup } from '@test/support/server-process';
import { waitUntil } from '@test/support/wait-until';

const MESSAGES_PER_PHASE = 10;
const WAIT_MS = 15_000;

/**
 * The typed client across a real restart of the server (SIGTERM, then a new process on the same
 * port): what the application sees is every message of the room exactly once and in `seq` order,
 * and every send it made is stored once, also those made while the server was away.
 */
describe('RealtimeClient across a server restart (e2e)', () => {
  let setup: ServerSetup;
  let server: ServerProcess;

  beforeAll(async () => {
    setup = await createServerSetup();
    server = await ServerProcess.start(setup.environment);
  });

  afterAll(async () => {
    await server?.kill();
    await setup?.remove();
  });

  it('reconnects, catches up and retries its sends: every message once, in order', async () => {
    const owner = await registerUser(server);
    const reader = await registerUser(server);
    const room = await createRoom(server, owner, { visibility: 'public' });
    let tokenCalls = 0;
    const client = await RealtimeClient.connect({
      baseUrl: server.url,
      accessToken: () => {
        tokenCalls += 1;
        return reader.accessToken;
      },
      WebSocket: CheckedWebSocket,
      reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    });
    const delivered: RealtimeMessage[] = [];
    const events: string[] = [];
    client.on('message', (message) => delivered.push(message));
    client.on('reconnecting', ({ code }) => events.push(`reconnecting ${code}`));
    client.on('reconnected', () => events.push('reconnected'));
    await client.join(room.id);

    const post = (author: RegisteredUser, count: number, label: string) =>
      Array.from({ length: count }, (_, i) =>
        postMessage(server, author, room.id, { body: `${label} ${i}` }),
      );
    await Promise.all(post(owner, MESSAGES_PER_PHASE, 'before'));
    const ownSends = [client.send(room.id, 'mine before')];
    await waitUntil(
      () => delivered.length === MESSAGES_PER_PHASE + 1,
      WAIT_MS,
      'live delivery before the restart',
    );

    const port = server.port;
    await server.stop();
    expect(events[0]).toBe('reconnecting 1001');
    // Sent while the server is away: queued, sent once it is back.
    ownSends.push(client.send(room.id, 'mine while away', 'away-1'));
    server = await ServerProcess.start(setup.environment, { port });
    // Posted before the client is back: it gets these through sync, not live.
    await Promise.all(post(owner, MESSAGES_PER_PHASE, 'after'));
    await waitUntil(() => events.includes('reconnected'), WAIT_MS, 'the client to reconnect');
    ownSends.push(client.send(room.id, 'mine after'));
    const acks = await Promise.all(ownSends);
    await Promise.all(post(owner, MESSAGES_PER_PHASE, 'live again'));

    const total = 3 * MESSAGES_PER_PHASE + ownSends.length;
    await waitUntil(() => delivered.length >= total, WAIT_MS, 'every message');
    await client.catchUp();
    expect(delivered.map((message) => message.seq)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const history = await readHistory(server, reader, room.id);
    expect(history.map((message) => message.id)).toEqual(delivered.map((message) => message.id));
    expect(acks.map((ack) => ack.seq)).toEqual(
      acks.map((ack) => history.find((message) => message.id === ack.id)?.seq),
    );
    expect(history.filter((message) => message.clientMsgId === 'away-1')).toHaveLength(1);
    // A token was asked for at the first connection and again for the reconnection.
    expect(tokenCalls).toBeGreaterThanOrEqual(2);

    client.close();
    expect(await client.closed).toEqual({ code: 1000, reason: 'Client closed' });
  });
});
