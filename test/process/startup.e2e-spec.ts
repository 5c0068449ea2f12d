import { runUntilExit } from '@test/support/server-process';

describe('start-up with a bad configuration (process)', () => {
  it('PORT=notaport stops the start with one line naming PORT', () => {
    const result = runUntilExit({ PORT: 'notaport' });

    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: PORT must be a number',
    ]);
  });

  it('production without JWT_SECRET stops with one line naming JWT_SECRET', () => {
    const result = runUntilExit({ NODE_ENV: 'production' });

    expect(result.status).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      'Invalid configuration: JWT_SECRET is required when NODE_ENV=production',
    );
  });

  it.each([
    ['JWT_TTL', '0'],
    ['JWT_TTL', '500ms'],
    ['REFRESH_TTL', '999ms'],
  ])('%s=%s (tokens born expired) stops with one line naming it', (name, value) => {
    const result = runUntilExit({ [name]: value });

    expect(result.status).not.toBe(0);
    expect(result.stderr.trim()).toBe(`Invalid configuration: ${name} must be at least 1s`);
  });
});
