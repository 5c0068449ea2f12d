import { randomBytes } from 'node:crypto';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface BenchUser {
  id: string;
  accessToken: string;
}

/**
 * The REST calls the bench makes to set a scenario up (users, rooms, messages) and to check it
 * before measuring; the load itself comes from wrk or the WebSocket load generator.
 */
export class ApiClient {
  constructor(private readonly baseUrl: string) {}

  async call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; expect?: number } = {},
  ): Promise<ApiResponse> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (options.expect !== undefined && response.status !== options.expect) {
      throw new Error(`${method} ${path}: ${response.status}, expected ${options.expect}: ${text}`);
    }
    return { status: response.status, headers: response.headers, text };
  }

  async registerUser(): Promise<BenchUser> {
    const suffix = randomBytes(4).toString('hex');
    const { text } = await this.call('POST', '/api/auth/register', {
      body: { username: `bench_${suffix}`, password: `bench-password-${suffix}` },
      expect: 201,
    });
    const body = JSON.parse(text) as { accessToken: string; user: { id: string } };
    return { id: body.user.id, accessToken: body.accessToken };
  }

  /** A public room owned (and so joined) by `owner`. */
  async createRoom(owner: BenchUser, name: string): Promise<string> {
    const { text } = await this.call('POST', '/api/rooms', {
      token: owner.accessToken,
      body: { name, visibility: 'public' },
      expect: 201,
    });
    return (JSON.parse(text) as { id: string }).id;
  }

  async joinRoom(user: BenchUser, roomId: string): Promise<void> {
    const { status, text } = await this.call('PUT', `/api/rooms/${roomId}/members/me`, {
      token: user.accessToken,
    });
    if (status >= 300) {
      throw new Error(`join ${roomId}: ${status} ${text}`);
    }
  }

  async postMessage(sender: BenchUser, roomId: string, body: string): Promise<void> {
    await this.call('POST', `/api/rooms/${roomId}/messages`, {
      token: sender.accessToken,
      body: { body, clientMsgId: `setup-${randomBytes(6).toString('hex')}` },
      expect: 201,
    });
  }
}
