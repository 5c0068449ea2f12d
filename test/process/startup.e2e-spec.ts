import { join } from 'node:path';
import { waitUntil } from '@test/support/wait-until';
import {
  createServerSetup,
  runUntilExit,
  ServerProcess,
  ServerSetup,
} from '@test/support/server-process';

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

describe('the first line of the log (process)', () => {
  let setup: ServerSetup;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    setup = await createServerSetup({ LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await server?.kill();
    await setup?.remove();
  });

  it('says where it listens, which database and Redis it uses and where the docs are, as JSON on a pipe', async () => {
    server = await ServerProcess.start(setup.environment);
    const { DATABASE_URL, DATA_DIR, REDIS_URL } = setup.environment;
    const database = DATABASE_URL
      ? `PostgreSQL ${new URL(DATABASE_URL).host}${new URL(DATABASE_URL).pathname}`
      : `SQLite ${join(DATA_DIR, 'switchboard.sqlite')}`;
    const redis = REDIS_URL ? new URL(REDIS_URL).host : 'none (embedded, in-process)';

    // Log lines are written in batches, at the latest 100 ms after they were logged.
    await waitUntil(() => server!.output.includes('\n'), 5_000, 'the first log line');
    const firstLine = server.output.split('\n')[0];

    expect(JSON.parse(firstLine)).toMatchObject({
      level: 30,
      msg: `Switchboard listening on ${server.url} · database: ${database} · Redis: ${redis} · API docs: ${server.url}/docs`,
    });
  });
});
