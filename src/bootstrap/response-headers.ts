import { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from 'helmet';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * helmet's default security headers, computed once: the values do not depend on the request, so
 * running helmet's middleware chain for every request (as `@fastify/helmet` does) buys nothing.
 */
export function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    removeHeader: () => undefined,
  };
  helmet()({} as never, response as never, () => undefined);
  return headers;
}

/** Every answer carries the security headers and its request id, set in one hook. */
export function registerResponseHeaders(app: NestFastifyApplication): void {
  const securityHeaders = helmetHeaders();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      reply.headers(securityHeaders);
      reply.header(REQUEST_ID_HEADER, request.id);
      done();
    });
}
