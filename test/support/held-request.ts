import { Agent, ClientRequest, IncomingHttpHeaders, request as httpRequest } from 'node:http';

/** Longer than any drain a suite runs. */
const RESPONSE_TIMEOUT_MS = 20_000;

export interface HeldResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A POST that the server has begun and cannot finish until the test says so: it goes out with
 * `Expect: 100-continue` and without its body. Once `received` settles the server has read the
 * headers and answered 100 Continue, so the request is in flight there; `finish()` sends the body.
 */
export class HeldRequest {
  readonly received: Promise<void>;
  private readonly response: Promise<HeldResponse>;
  private readonly call: ClientRequest;
  private readonly body: string;

  constructor(
    agent: Agent,
    url: string,
    path: string,
    payload: unknown,
    headers: Record<string, string> = {},
  ) {
    this.body = JSON.stringify(payload);
    const target = new URL(path, url);
    this.call = httpRequest({
      agent,
      host: target.hostname,
      port: target.port,
      method: 'POST',
      path: target.pathname,
      headers: {
        ...headers,
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(this.body),
        Expect: '100-continue',
      },
      timeout: RESPONSE_TIMEOUT_MS,
    });
    this.call.once('timeout', () => this.call.destroy(new Error('No response in time')));
    this.received = new Promise((resolve, reject) => {
      this.call.once('continue', resolve);
      this.call.once('error', reject);
    });
    this.response = new Promise((resolve, reject) => {
      this.call.once('error', reject);
      this.call.once('response', (incoming) => {
        let text = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (text += chunk));
        incoming.once('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: text }),
        );
      });
    });
    // Awaited through finish(); this only keeps an early failure from being unhandled.
    this.response.catch(() => undefined);
    this.call.flushHeaders();
  }

  finish(): Promise<HeldResponse> {
    this.call.end(this.body);
    return this.response;
  }
}
