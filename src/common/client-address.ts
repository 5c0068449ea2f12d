import { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { AppConfig } from '@config';

/**
 * The client's address for requests that do not pass through Fastify's routing (WebSocket
 * upgrades), read the way Fastify reads `request.ip` under the same TRUST_PROXY: from
 * X-Forwarded-For only when the hop that sent it is a trusted proxy.
 */
export function clientAddressResolver(
  trustProxy: AppConfig['http']['trustProxy'],
): (request: IncomingMessage) => string {
  if (trustProxy === false) {
    return (request) => request.socket.remoteAddress ?? 'unknown';
  }
  const trust = trustProxy === true ? () => true : proxyAddr.compile(trustProxy);
  return (request) => proxyAddr(request, trust);
}
