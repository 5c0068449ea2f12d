import { randomBytes } from 'node:crypto';
import { connect, Socket } from 'node:net';

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string>;
}

/**
 * A WebSocket upgrade written by hand on a raw TCP connection, for what a `ws` client cannot do:
 * send the request in two parts (an upgrade in flight at a chosen moment), or complete the
 * upgrade and then stop reading, as a phone that lost its network (a half-open peer that never
 * answers the server's close frame).
 */
export class RawUpgrade {
  /** Settles once the connection is gone, whoever ended it. */
  readonly closed: Promise<void>;
  private received = '';
  private readonly answered: Promise<UpgradeAnswer>;

  private constructor(
    private readonly socket: Socket,
    private readonly request: string,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    this.answered = new Promise((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.received += chunk.toString('latin1');
        const end = this.received.indexOf('\r\n\r\n');
        if (end >= 0) {
          socket.off('data', onData);
          resolve(parseAnswer(this.received.slice(0, end)));
        }
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('Connection closed before an answer')));
    });
    this.answered.catch(() => undefined);
  }

  /** Opens the TCP connection; nothing is sent yet. */
  static open(baseUrl: string, token: string): Promise<RawUpgrade> {
    const url = new URL(baseUrl);
    const request = [
      'GET /ws HTTP/1.1',
      `Host: ${url.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Authorization: Bearer ${token}`,
    ].join('\r\n');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.once('connect', () => resolve(new RawUpgrade(socket, request)));
      socket.once('error', reject);
    });
  }

  /** Every header line, but not the blank line that ends the request: it is still in flight. */
  sendHeaders(): void {
    this.socket.write(`${this.request}\r\n`);
  }

  /** Ends the request (after `sendHeaders`); the server decides now. */
  finishRequest(): Promise<UpgradeAnswer> {
    this.socket.write('\r\n');
    return this.answered;
  }

  /** The whole request at once. */
  upgrade(): Promise<UpgradeAnswer> {
    this.sendHeaders();
    return this.finishRequest();
  }

  /** Stops reading for good: the server's frames, its close frame included, stay unanswered. */
  stopReading(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function parseAnswer(head: string): UpgradeAnswer {
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}
