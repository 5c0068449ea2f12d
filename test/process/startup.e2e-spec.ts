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
});
