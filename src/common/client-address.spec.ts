import { IncomingMessage } from 'node:http';
import { clientAddressResolver } from './client-address';

const requestFrom = (remoteAddress: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  }) as unknown as IncomingMessage;

describe(clientAddressResolver.name, () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(clientAddressResolver(false)(requestFrom('10.0.0.9', '1.2.3.4'))).toBe('10.0.0.9');
  });

  it('reads X-Forwarded-For from a trusted proxy', () => {
    const resolve = clientAddressResolver(['10.0.0.9']);

    expect(resolve(requestFrom('10.0.0.9', '1.2.3.4'))).toBe('1.2.3.4');
  });

  it('does not let an untrusted sender choose its address', () => {
    const resolve = clientAddressResolver(['10.0.0.9']);

    expect(resolve(requestFrom('6.6.6.6', '1.2.3.4'))).toBe('6.6.6.6');
  });
});
