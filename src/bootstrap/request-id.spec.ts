import { IncomingMessage } from 'node:http';
import { requestIdFor } from './request-id';

const withHeader = (value?: string) =>
  ({ headers: value === undefined ? {} : { 'x-request-id': value } }) as IncomingMessage;

describe(requestIdFor.name, () => {
  it('keeps a well-formed incoming id', () => {
    expect(requestIdFor(withHeader('lb-7f3a.42'))).toBe('lb-7f3a.42');
  });

  it.each([
    ['none', undefined],
    ['an empty one', ''],
    ['one with spaces', 'a b'],
    ['one too long', 'x'.repeat(129)],
  ])('makes a new one when given %s', (_case, value) => {
    expect(requestIdFor(withHeader(value))).toMatch(/^[0-9a-f-]{36}$/);
  });
});
