import { spawnSync } from 'node:child_process';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { AcceptDescriptors } from './accept-descriptors';

const QUEUED = 24;

/**
 * Connects QUEUED sockets to `port` from another process while this one is blocked, so they
 * wait in the kernel's listen queue, and returns once every handshake is complete.
 */
function queueConnections(port: number): void {
  const script = `
    const net = require('node:net');
    let connected = 0;
    for (let i = 0; i < ${QUEUED}; i++) {
      net.connect(${port}, '127.0.0.1').on('connect', () => ++connected === ${QUEUED} && process.exit(0));
    }
    setTimeout(() => process.exit(1), 10000);
  `;
  const result = spawnSync(process.execPath, ['-e', script], { timeout: 15_000 });
  expect(result.status).toBe(0);
}

/** Connections accepted in each turn of the event loop until QUEUED have been. */
async function acceptsPerTurn(server: Server): Promise<number[]> {
  const turns: number[] = [0];
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    turns[turns.length - 1]++;
    socket.destroy();
  });
  queueConnections((server.address() as AddressInfo).port);
  for (let turn = 0; turn < 10 * QUEUED && accepted < QUEUED; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    turns.push(0);
  }
  return turns.filter((count) => count > 0);
}

async function listening(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
  return server;
}

describe('AcceptDescriptors', () => {
  const servers: Server[] = [];
  const descriptors: AcceptDescriptors[] = [];

  afterEach(async () => {
    await Promise.all(descriptors.splice(0).map((opened) => opened.close()));
    servers.splice(0).forEach((server) => server.close());
  });

  async function serverAccepting(count: number): Promise<Server> {
    const server = await listening();
    const opened = new AcceptDescriptors();
    await opened.open(server, count, 511);
    servers.push(server);
    descriptors.push(opened);
    return server;
  }

  it('accepts one connection a turn with one descriptor (what Node 20 does by itself)', async () => {
    const turns = await acceptsPerTurn(await serverAccepting(1));

    expect(turns.reduce((sum, count) => sum + count, 0)).toBe(QUEUED);
    expect(Math.max(...turns)).toBe(1);
  });

  it('accepts up to four connections a turn with four descriptors, all on the same server', async () => {
    const turns = await acceptsPerTurn(await serverAccepting(4));

    expect(turns.reduce((sum, count) => sum + count, 0)).toBe(QUEUED);
    expect(Math.max(...turns)).toBe(4);
    expect(turns.length).toBeLessThanOrEqual(QUEUED / 2);
  });

  it('refuses connections once closed with its server, and accepted them before', async () => {
    const server = await serverAccepting(4);
    const port = (server.address() as AddressInfo).port;
    server.on('connection', (socket: Socket) => socket.destroy());
    const outcome = (): Promise<string> =>
      new Promise((resolve) => {
        const client = connect(port, '127.0.0.1');
        client.on('connect', () => resolve('connected'));
        client.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });

    expect(await outcome()).toBe('connected');

    await Promise.all([
      ...descriptors.map((opened) => opened.close()),
      new Promise((resolve) => server.close(resolve)),
    ]);

    expect(await outcome()).toBe('ECONNREFUSED');
  });

  it('listens on no descriptor that arrives after it was closed (a drain during start-up)', async () => {
    const server = await listening();
    servers.push(server);
    const opened = new AcceptDescriptors();

    const opening = opened.open(server, 4, 511);
    await opened.close();
    await opening;

    expect(opened.extra).toBe(0);
    const control = new AcceptDescriptors();
    descriptors.push(control);
    await control.open(server, 4, 511);
    expect(control.extra).toBe(3);
  });

  it('leaves a server that is not listening as it was', async () => {
    const opened = new AcceptDescriptors();

    await opened.open(createServer(), 4, 511);

    expect(opened.extra).toBe(0);
  });
});
