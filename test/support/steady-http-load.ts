import { Agent, request as httpRequest } from 'node:http';

/** One request of the load: what to send, and the statuses that count as success. */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  token: string;
  body?: unknown;
}

export interface LoadFailure {
  at: number;
  method: string;
  path: string;
  /** The HTTP status, or the network error's code. */
  outcome: number | string;
}

export interface LoadResult<T> {
  request: LoadRequest;
  status: number;
  body: T;
}

const REQUEST_TIMEOUT_MS = 30_000;
const TICK_MS = 10;

/**
 * HTTP requests at a steady rate for as long as it runs, over keep-alive connections as a browser
 * or an API client sends them (at most `concurrency` at once: a slow server lowers the rate rather
 * than piling up sockets). Every answer outside 2xx and every network error is a failure; nothing
 * is retried here.
 */
export class SteadyHttpLoad {
  readonly failures: LoadFailure[] = [];
  succeeded = 0;
  /** Requests the schedule wanted while `concurrency` were already in flight. */
  skipped = 0;
  private inFlight = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly agent: Agent;
  private startedAt = 0;
  private due = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly next: () => LoadRequest,
    private readonly ratePerSecond: number,
    private readonly concurrency: number,
    private readonly onSuccess: (result: LoadResult<unknown>) => void = () => undefined,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  start(): void {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stops sending; resolves once every request sent has its answer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight.size > 0) {
      await Promise.all([...this.inFlight]);
    }
    this.agent.destroy();
  }

  /** Requests per second actually answered so far. */
  get achievedRate(): number {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return (this.succeeded + this.failures.length) / Math.max(seconds, 0.001);
  }

  private tick(): void {
    this.due += (this.ratePerSecond * TICK_MS) / 1000;
    while (this.due >= 1) {
      this.due -= 1;
      if (this.inFlight.size >= this.concurrency) {
        this.skipped += 1;
        continue;
      }
      const sending = this.send(this.next()).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  private async send(request: LoadRequest): Promise<void> {
    try {
      const { status, text } = await this.exchange(request);
      if (status >= 200 && status < 300) {
        this.succeeded += 1;
        this.onSuccess({ request, status, body: text ? (JSON.parse(text) as unknown) : undefined });
      } else {
        this.fail(request, status);
      }
    } catch (error) {
      this.fail(request, (error as NodeJS.ErrnoException).code ?? String(error));
    }
  }

  private fail(request: LoadRequest, outcome: number | string): void {
    this.failures.push({ at: Date.now(), method: request.method, path: request.path, outcome });
  }

  private exchange(request: LoadRequest): Promise<{ status: number; text: string }> {
    const target = new URL(request.path, this.baseUrl);
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    return new Promise((resolve, reject) => {
      const call = httpRequest(
        {
          agent: this.agent,
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: `${target.pathname}${target.search}`,
          headers: {
            Authorization: `Bearer ${request.token}`,
            ...(payload === undefined
              ? {}
              : {
                  'Content-Type': 'application/json',
                  'Content-Length': Buffer.byteLength(payload),
                }),
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (incoming) => {
          let text = '';
          incoming.setEncoding('utf8');
          incoming.on('data', (chunk: string) => (text += chunk));
          incoming.once('end', () => resolve({ status: incoming.statusCode ?? 0, text }));
          incoming.once('error', reject);
        },
      );
      call.once('timeout', () =>
        call.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
      );
      call.once('error', reject);
      call.end(payload);
    });
  }
}
