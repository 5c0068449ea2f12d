import { createClient, createConfig } from '@libs/client';
import type { TestApp } from './test-app';

export type Client = ReturnType<typeof createClient>;

/** A server the tests talk to: a test app, a server process or a cluster. */
export interface HttpTarget {
  /** What supertest sends to, for requests where the raw request is the point. */
  server: TestApp['server'] | string;
  /** The base URL the generated client calls. */
  url: string;
}

/** The generated REST client (libs/client) against `target`, as the holder of `accessToken`. */
export function apiClient(target: HttpTarget, accessToken?: string): Client {
  return createClient(createConfig({ baseUrl: target.url, auth: accessToken }));
}

interface CallResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a generated client call that must answer `status`; else a failure that says why. */
export async function expectStatus<T>(call: Promise<CallResult<T>>, status: number): Promise<T> {
  const { data, error, response } = await call;
  if (response.status !== status) {
    throw new Error(
      `${response.url}: expected ${status}, got ${response.status} ${JSON.stringify(error ?? data)}`,
    );
  }
  return data as T;
}
