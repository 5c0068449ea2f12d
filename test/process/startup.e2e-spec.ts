import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The compiled server (`npm test` builds it first). */
const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

describe('start-up with a bad configuration (process)', () => {
  let workingDirectory: string;

  beforeAll(() => {
    workingDirectory = mkdtempSync(join(tmpdir(), 'switchboard-startup-'));
  });

  afterAll(() => {
    rmSync(workingDirectory, { recursive: true, force: true });
  });

  const start = (environment: Record<string, string>) =>
    spawnSync(process.execPath, [MAIN], {
      cwd: workingDirectory,
      env: { PATH: process.env.PATH, ...environment },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('PORT=notaport stops the start with one line naming PORT', () => {
    const result = start({ PORT: 'notaport' });

    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: PORT must be a number',
    ]);
  });

  it('production without JWT_SECRET stops with one line naming JWT_SECRET', () => {
    const result = start({ NODE_ENV: 'production' });

    expect(result.status).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      'Invalid configuration: JWT_SECRET is required when NODE_ENV=production',
    );
  });
});
