import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { NginxProcess } from '@test/support/nginx-process';

/** An upstream that reads each request, then cuts the connection without an answer. */
function startCuttingUpstream(seen: string[]): Promise<Server> {
  const server = createServer((request) => {
    seen.push(`${request.method} ${request.url}`);
    request.resume();
    request.once('end', () => request.socket.destroy());
  });
  return listen(server);
}

/** An upstream that answers every request 200 with its method. */
function startAnsweringUpstream(seen: string[]): Promise<Server> {
  const server = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    request.resume();
    request.once('end', () => response.end(JSON.stringify({ method: request.method })));
  });
  return listen(server);
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

/**
 * The shipped server block's retry rules, against upstreams that fail on purpose: a request that
 * failed after it was sent goes to the next instance only when it is idempotent; a POST that may
 * have been stored is never sent twice.
 */
describe('nginx retries (services)', () => {
  const cutSeen: string[] = [];
  const answeredSeen: string[] = [];
  let cutting: Server;
  let answering: Server;
  let nginx: NginxProcess;

  beforeAll(async () => {
    cutting = await startCuttingUpstream(cutSeen);
    answering = await startAnsweringUpstream(answeredSeen);
    nginx = await NginxProcess.start([portOf(cutting), portOf(answering)]);
  });

  afterAll(async () => {
    await nginx?.stop();
    cutting?.closeAllConnections();
    answering?.closeAllConnections();
    await Promise.all([cutting, answering].map((s) => new Promise((r) => s?.close(r))));
  });

  beforeEach(() => {
    cutSeen.length = 0;
    answeredSeen.length = 0;
  });

  it('tries a GET that failed after it was sent on the next instance', async () => {
    // Round-robin: of two GETs, one lands on the cutting upstream first.
    const statuses = [];
    for (let i = 0; i < 2; i++) {
      statuses.push((await fetch(`${nginx.url}/api/rooms/${i}`)).status);
    }

    expect(statuses).toEqual([200, 200]);
    expect(cutSeen).toHaveLength(1);
    expect(answeredSeen).toEqual(['GET /api/rooms/0', 'GET /api/rooms/1']);
  });

  it('never sends a POST that failed after it was sent to another instance', async () => {
    const statuses = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${nginx.url}/api/rooms/${i}/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ body: 'once' }),
      });
      statuses.push(response.status);
    }

    // One reached the cutting upstream and got 502, not a second try; the other went through.
    expect([...statuses].sort()).toEqual([200, 502]);
    expect(cutSeen).toHaveLength(1);
    expect(answeredSeen).toHaveLength(1);
    expect(answeredSeen[0]).not.toBe(cutSeen[0]);
  });
});
