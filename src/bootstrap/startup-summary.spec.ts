import { loadConfig } from '@config';
import { startupSummary } from './startup-summary';

const URL = 'http://127.0.0.1:3000';

describe(startupSummary.name, () => {
  it('names the address, the SQLite file, the in-process Redis and the docs', () => {
    const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: '/var/lib/switchboard' });

    expect(startupSummary(config, URL)).toBe(
      'Switchboard listening on http://127.0.0.1:3000 · database: SQLite /var/lib/switchboard/switchboard.sqlite' +
        ' · Redis: none (embedded, in-process) · API docs: http://127.0.0.1:3000/docs',
    );
  });

  it('names PostgreSQL and Redis by host, port and database, never with a password', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'a'.repeat(32),
      DATABASE_URL: 'postgres://switchboard:db-secret@db.internal:5433/chat',
      REDIS_URL: 'redis://:redis-secret@cache.internal:6380',
    });

    const summary = startupSummary(config, URL);

    expect(summary).toBe(
      'Switchboard listening on http://127.0.0.1:3000 · database: PostgreSQL db.internal:5433/chat' +
        ' · Redis: cache.internal:6380 · API docs: off (DOCS=true serves them)',
    );
    expect(summary).not.toMatch(/secret|switchboard:/);
  });
});
