import WebSocket from 'ws';
import { waitForOk } from './network';

interface InspectorReply {
  id?: number;
  result?: { usedSize?: number };
}

/**
 * heapUsed of a Node process right after a full garbage collection, so garbage does not count.
 * The process was started with `--inspect-port=<port>` only (which opens nothing); SIGUSR1 opens
 * its inspector on 127.0.0.1:<port> now, and the DevTools protocol runs the GC
 * (HeapProfiler.collectGarbage) and reads the heap (Runtime.getHeapUsage).
 */
export async function heapUsedAfterFullGc(pid: number, inspectPort: number): Promise<number> {
  process.kill(pid, 'SIGUSR1');
  const listUrl = `http://127.0.0.1:${inspectPort}/json/list`;
  await waitForOk(listUrl, 10_000);
  const targets = (await (await fetch(listUrl)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  try {
    let nextId = 1;
    const call = (method: string) =>
      new Promise<InspectorReply>((resolve) => {
        const id = nextId++;
        const onMessage = (data: Buffer) => {
          const reply = JSON.parse(data.toString('utf8')) as InspectorReply;
          if (reply.id === id) {
            socket.off('message', onMessage);
            resolve(reply);
          }
        };
        socket.on('message', onMessage);
        socket.send(JSON.stringify({ id, method }));
      });
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return usage.result?.usedSize ?? Number.NaN;
  } finally {
    socket.close();
  }
}
