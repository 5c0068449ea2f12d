import { redactUrl } from './redact-url';

describe(redactUrl.name, () => {
  it.each([
    ['/ws?token=eyJabc.def', '/ws?token=[redacted]'],
    ['/ws?room=1&token=abc&x=2', '/ws?room=1&token=[redacted]&x=2'],
    ['/cb?access_token=abc#frag', '/cb?access_token=[redacted]#frag'],
    ['/api/rooms?limit=5', '/api/rooms?limit=5'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
