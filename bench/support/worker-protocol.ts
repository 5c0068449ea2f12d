/** What the runner sends a bench worker process over IPC. */
export interface WorkerRequest {
  id: number;
  command: string;
  payload: object;
}

/** The worker's answer to one request: a result or an error message. */
export interface WorkerReply {
  id: number;
  result?: unknown;
  error?: string;
}

type Handler = (payload: never) => unknown;

/**
 * The worker's side: answers the runner's requests with `handlers[command]`, one at a time in the
 * order they came, and exits when the runner goes away (so no worker outlives it).
 */
export function serveRunner(handlers: Record<string, Handler>): void {
  let queue = Promise.resolve();
  process.on('message', (request: WorkerRequest) => {
    queue = queue.then(async () => {
      const reply: WorkerReply = { id: request.id };
      try {
        const handler = handlers[request.command];
        if (!handler) {
          throw new Error(`unknown command ${request.command}`);
        }
        reply.result = await handler(request.payload as never);
      } catch (error) {
        reply.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      }
      process.send?.(reply);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
