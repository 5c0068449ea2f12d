import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { waitUntil } from '@test/support/wait-until';
import { postBody } from '@test/scale/post-body';
import { countFromBytes } from './byte-counter';
import { DeliveryTally } from './delivery-tally';

/** A server text frame (unmasked) of `text`, as the server's ws writes it. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, payload.length])
      : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

describe('countFromBytes', () => {
  let server: WebSocketServer;
  let client: WebSocket;
  let serverSide: WebSocket;

  beforeEach(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const { port } = server.address() as { port: number };
    client = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((resolve) => client.once('open', resolve));
    serverSide = await accepted;
  });

  afterEach(async () => {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  it('counts bodies cut between TCP reads once each and answers a ping cut in two', async () => {
    const tally = new DeliveryTally();
    countFromBytes(client, 1, tally);
    const pongs: number[] = [];
    serverSide.on('pong', () => pongs.push(Date.now()));
    const raw = (serverSide as unknown as { _socket: Socket })._socket;
    const bodies = [0, 1, 2].map((index) =>
      postBody({ phase: 'steady', origin: 0, sentAt: Date.now() }, index),
    );
    const stream = Buffer.concat([
      ...bodies.map((body, seq) =>
        textFrame(JSON.stringify({ event: 'message', data: { seq, body } })),
      ),
      textFrame(JSON.stringify({ event: 'presence', data: { status: 'online' } })),
      Buffer.from([0x89, 0x00]),
    ]);
    // Cut inside the second body, inside the third one's marker, and between the ping's bytes.
    const second = stream.indexOf('"body":"', 60);
    const third = stream.indexOf('"body":"', second + 8);
    const cuts = [second + 8 + 3, third + 4, stream.length - 1];
    let from = 0;
    for (const cut of [...cuts, stream.length]) {
      raw.write(stream.subarray(from, cut));
      from = cut;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitUntil(() => pongs.length === 1, 2000, 'the pong');
    expect(tally.counts().received).toEqual({ 'steady:1:0': 3 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pongs).toHaveLength(1);
  });
});
