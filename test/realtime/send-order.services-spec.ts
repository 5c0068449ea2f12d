import { registerUser } from '@test/support/auth-helpers';
import { createRoom, readHistory } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { requireTestDatabaseUrl } from '@test/support/test-database';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const FRAMES = 60;

/** Guarantee 8 of PRODUCT.md on PostgreSQL, where concurrent frames would race for the row lock. */
describe('frames of one connection, on PostgreSQL', () => {
  beforeAll(() => {
    requireTestDatabaseUrl();
  });
  const testApp = useTestApp({ environment: { WS_MESSAGE_RATE: '10000' } });
  let client: WsTestClient | undefined;

  afterAll(async () => {
    await client?.closeAndWait();
  });

  it(`${FRAMES} sends without waiting are stored and acknowledged in the order sent`, async () => {
    const sender = await registerUser(testApp);
    const room = await createRoom(testApp, sender);
    client = await WsTestClient.connect(testApp.url, { token: sender.accessToken });

    for (let i = 0; i < FRAMES; i++) {
      client.send('send', { roomId: room.id, body: `message ${i}`, clientMsgId: `m${i}` });
    }
    await waitUntil(() => client!.received('ack').length >= FRAMES, 20_000, `${FRAMES} acks`);

    const acks = client.received('ack');
    expect(acks.map((ack) => ack.clientMsgId)).toEqual(
      Array.from({ length: FRAMES }, (_, i) => `m${i}`),
    );
    expect(acks.map((ack) => ack.seq)).toEqual(Array.from({ length: FRAMES }, (_, i) => i + 1));
    const history = await readHistory(testApp, sender, room.id);
    expect(history.map((message) => message.body)).toEqual(
      Array.from({ length: FRAMES }, (_, i) => `message ${i}`),
    );
  });
});
