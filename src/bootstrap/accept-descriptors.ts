import { Injectable, Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { Server as NetServer, Socket } from 'node:net';

/** How long the helper process may take to hand the descriptors back before we go on without. */
const HELPER_TIMEOUT_MS = 5_000;

/**
 * Runs in a short-lived child: sends the listening handle it receives back `count` times, then
 * exits. Each copy reaches the parent as a new descriptor of the same socket (SCM_RIGHTS), which
 * is the only way Node has to duplicate one (there is no dup()). The handle arrives raw
 * (`net.Native`), not as a net.Server, so the child never listens on it and accepts nothing.
 * `on`, not `once`: with no 'message' listener left, the child stops reading its channel and
 * never sees the acknowledgements that each handle after the first waits for.
 */
const ECHO_HANDLE_SCRIPT = `
process.on('message', ({ count }, handle) => {
  for (let index = 0; index < count; index++) {
    process.send({ index }, handle, { keepOpen: index < count - 1 });
  }
  process.disconnect();
});
`;

/**
 * Lets one turn of the event loop accept more than one connection. Node 20's libuv (1.45 on,
 * libuv#3696) accepts one connection per listening descriptor per turn, so an instance busy
 * with a reconnect storm (a turn every ~10 ms) takes about a hundred connections a second while
 * thousands wait in its listen queue and time out there. Watching the same listening socket
 * through `count` descriptors accepts up to `count` a turn, from the same queue; what comes in is
 * then paced by the upgrade admission (WS_ACCEPT_*), which answers 503 for a few microseconds
 * instead of leaving clients in the kernel's queue. Node 22.12's `reusePort` is not this: it
 * opens separate queues for separate processes.
 *
 * Not in a cluster worker: there the primary accepts, on a loop that does nothing else.
 */
@Injectable()
export class AcceptDescriptors {
  private readonly logger = new Logger(AcceptDescriptors.name);
  private readonly listeners: NetServer[] = [];
  /** Closed (the drain began): descriptors that arrive later are closed, not listened on. */
  private closed = false;

  /** The extra descriptors open now (0 when one turn accepts one connection). */
  get extra(): number {
    return this.listeners.length;
  }

  /**
   * Makes `server` (listening) accept up to `count` connections a turn: `count - 1` more
   * descriptors whose connections are handed to it as its own. If they cannot be had, logs why
   * and leaves `server` as it was.
   */
  async open(server: NetServer, count: number, backlog: number): Promise<void> {
    if (count <= 1 || cluster.isWorker) {
      return;
    }
    try {
      const handles = await duplicateHandle(listeningHandle(server), count - 1);
      if (this.closed) {
        handles.forEach((handle) => (handle as { close(): void }).close());
        return;
      }
      for (const handle of handles) {
        const listener = new NetServer();
        listener.on('connection', (socket: Socket) => server.emit('connection', socket));
        listener.on('error', (error) => server.emit('error', error));
        listener.listen(handle, backlog);
        this.listeners.push(listener);
      }
    } catch (error) {
      this.logger.warn(
        `accepting one connection a turn: could not duplicate the listening socket (${(error as Error).message})`,
      );
    }
  }

  /**
   * Stops accepting on the extra descriptors at once; resolves when they are closed. `server`
   * itself is closed by its owner.
   */
  close(): Promise<void> {
    this.closed = true;
    const closing = this.listeners
      .splice(0)
      .map((listener) => new Promise<void>((resolve) => listener.close(() => resolve())));
    return Promise.all(closing).then(() => undefined);
  }
}

/** The libuv TCP handle under a listening net.Server (what child_process can send). */
function listeningHandle(server: NetServer): object {
  const handle = (server as unknown as { _handle?: object | null })._handle;
  if (!server.listening || !handle) {
    throw new Error('the server is not listening');
  }
  return handle;
}

/** `count` new descriptors of `handle`'s socket, through a child that sends it back. */
function duplicateHandle(handle: object, count: number): Promise<object[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ECHO_HANDLE_SCRIPT], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const handles: object[] = [];
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (error === undefined) {
        resolve(handles);
        return;
      }
      child.kill();
      handles.forEach((received) => (received as { close(): void }).close());
      reject(error);
    };
    const timer = setTimeout(
      () => settle(new Error('the helper process did not answer')),
      HELPER_TIMEOUT_MS,
    );
    child.on('error', settle);
    // Done once the helper is gone, not when the last copy arrives: until it exits it holds a
    // descriptor of the listening socket too, which would keep the port accepting after close().
    // 'close', not 'exit': the exit can be seen before the last messages were read.
    child.on('close', () =>
      settle(
        handles.length === count
          ? undefined
          : new Error(`the helper process exited after ${handles.length} of ${count}`),
      ),
    );
    child.on('message', (_message, received) => {
      if (received !== undefined && settled) {
        (received as { close(): void }).close();
      } else if (received !== undefined) {
        handles.push(received);
      }
    });
    child.send({ count }, handle as Parameters<typeof child.send>[1]);
  });
}
