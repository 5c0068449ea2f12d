import { statSync } from 'node:fs';
import { join } from 'node:path';
import { registerUser } from '@test/support/auth-helpers';
import { useTestApp } from '@test/support/test-app';
import { onTestPostgres } from '@test/support/test-database';

const sqliteOnly = onTestPostgres() ? describe.skip : describe;

sqliteOnly('the SQLite file (e2e)', () => {
  const testApp = useTestApp();

  it('and its WAL are readable by the owner only (they hold password hashes)', async () => {
    // A write, so that the WAL exists.
    await registerUser(testApp);
    const file = join(testApp.config.dataDirectory, 'switchboard.sqlite');

    for (const path of [file, `${file}-wal`]) {
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    }
  });
});
