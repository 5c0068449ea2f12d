import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { ApiClient } from '@bench/support/api-client';
import { findFreePort, waitForOk } from '@bench/support/network';
import { ResourceScope } from '@bench/support/resource-scope';
import { SwitchboardServer } from '@bench/support/switchboard-server';

/**
 * What an idle WebSocket connection joined to a room keeps alive in the server, by kind of object:
 * two heap snapshots of a server process (before and after opening N joined connections), their
 * self sizes summed by constructor, the difference divided by N. Run after `npm run build`:
 *   node dist/scripts/measure-connections/retained-per-connection.js [connections=2000]
 * The server runs alone (no load pinning): this counts bytes, it does not time anything.
 */
const connections = Number(process.argv[2] ?? 2000);

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

async function inspector(pid: number, port: number) {
  process.kill(pid, 'SIGUSR1');
  const listUrl = `http://127.0.0.1:${port}/json/list`;
  await waitForOk(listUrl, 10_000);
  const [target] = (await (await fetch(listUrl)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 2 ** 31 });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 1;
  let chunks: string[] = [];
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as {
      method?: string;
      params?: { chunk: string };
    };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') {
      chunks.push(message.params!.chunk);
    }
  });
  const call = (method: string, params: object = {}) =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      const onMessage = (data: Buffer) => {
        if ((JSON.parse(data.toString('utf8')) as { id?: number }).id === id) {
          socket.off('message', onMessage);
          resolve();
        }
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async sizesByConstructor(): Promise<Map<string, { bytes: number; count: number }>> {
      chunks = [];
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      const snapshot = JSON.parse(chunks.join('')) as Snapshot;
      const fields = snapshot.snapshot.meta.node_fields;
      const types = snapshot.snapshot.meta.node_types[0];
      const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
      const sizes = new Map<string, { bytes: number; count: number }>();
      for (let index = 0; index < snapshot.nodes.length; index += fields.length) {
        const type = types[snapshot.nodes[index + typeAt]];
        const name =
          type === 'object' || type === 'closure'
            ? snapshot.strings[snapshot.nodes[index + nameAt]]
            : `(${type})`;
        const key = `${type}:${name}`;
        const entry = sizes.get(key) ?? { bytes: 0, count: 0 };
        entry.bytes += snapshot.nodes[index + sizeAt];
        entry.count += 1;
        sizes.set(key, entry);
      }
      return sizes;
    },
    close: () => socket.close(),
  };
}

async function main(): Promise<void> {
  const scope = new ResourceScope();
  try {
    const inspectPort = await findFreePort();
    const server = await SwitchboardServer.start(scope, {
      cores: '0-1',
      nodeFlags: [`--inspect-port=${inspectPort}`],
    });
    const api = new ApiClient(server.url);
    const owner = await api.registerUser();
    const roomId = await api.createRoom(owner, 'retained per connection');
    const probe = await inspector(server.pid, inspectPort);
    const before = await probe.sizesByConstructor();
    const sockets: WebSocket[] = [];
    for (let index = 0; index < connections; index++) {
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, {
        headers: { Authorization: `Bearer ${owner.accessToken}` },
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ event: 'join', data: { roomId } }));
      await new Promise((resolve) => socket.once('message', resolve));
      sockets.push(socket);
    }
    await sleep(1000);
    const after = await probe.sizesByConstructor();
    const rows = [...after].map(([key, { bytes, count }]) => {
      const earlier = before.get(key) ?? { bytes: 0, count: 0 };
      return {
        key,
        bytes: (bytes - earlier.bytes) / connections,
        count: (count - earlier.count) / connections,
      };
    });
    rows.sort((a, b) => b.bytes - a.bytes);
    const total = rows.reduce((sum, row) => sum + row.bytes, 0);
    console.log(
      `retained per joined connection: ${total.toFixed(0)} B (${connections} connections)`,
    );
    for (const row of rows.slice(0, 40)) {
      console.log(
        `${row.bytes.toFixed(1).padStart(8)} B  ${row.count.toFixed(2).padStart(6)} ×  ${row.key}`,
      );
    }
    probe.close();
    for (const socket of sockets) {
      socket.terminate();
    }
  } finally {
    await scope.close();
  }
}

void main();
