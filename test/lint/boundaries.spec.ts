import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const BOUNDARY_RULES = ['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax'];

interface LintedSource {
  filePath: string;
  messages: { ruleId: string | null; message: string }[];
}

/** Lints each source as if it were the file at `filePath`, with the project's ESLint config. */
async function lint(sources: Record<string, string>): Promise<Record<string, string[]>> {
  const input = JSON.stringify(
    Object.entries(sources).map(([filePath, code]) => ({ filePath, code })),
  );
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'test/support/lint-sources.mjs')],
      { cwd: ROOT, timeout: 60_000 },
      (error, out) => (error ? reject(new Error(`lint-sources: ${error.message}`)) : resolve(out)),
    );
    child.stdin?.end(input);
  });
  const results = JSON.parse(stdout) as LintedSource[];
  return Object.fromEntries(
    results.map(({ filePath, messages }) => [
      filePath,
      messages
        // A parsing error (null rule) would hide every violation: keep it so the test fails.
        .filter(({ ruleId }) => ruleId === null || BOUNDARY_RULES.includes(ruleId))
        .map(({ message }) => message),
    ]),
  );
}

describe('module boundaries (ESLint)', () => {
  it('keeps the libraries out of the application and its configuration', async () => {
    const reported = await lint({
      'libs/bus/src/boundary-fixture.ts': "export { APP_CONFIG } from '@config';\n",
      'libs/cache/src/boundary-fixture.ts':
        "export { UsersService } from '@app/users/users.service';\n",
      'libs/client/src/boundary-fixture.ts': "export { loadConfig } from '@config';\n",
      'libs/protocol/src/boundary-fixture.ts': "export { MessageBus } from '@libs/bus';\n",
      // Libraries may use each other.
      'libs/client/src/allowed-fixture.ts': "export { CloseCode } from '@libs/protocol';\n",
    });

    expect(reported['libs/bus/src/boundary-fixture.ts']).toEqual([
      expect.stringContaining('A library must not import the application'),
    ]);
    expect(reported['libs/cache/src/boundary-fixture.ts']).toEqual([
      expect.stringContaining('A library must not import the application'),
    ]);
    expect(reported['libs/client/src/boundary-fixture.ts']).toEqual([
      expect.stringContaining('A library must not import the application'),
    ]);
    expect(reported['libs/protocol/src/boundary-fixture.ts']).toEqual([
      expect.stringContaining('The protocol stands alone'),
    ]);
    expect(reported['libs/client/src/allowed-fixture.ts']).toEqual([]);
  });

  it('keeps the generated client out of the server; the protocol library is allowed', async () => {
    const reported = await lint({
      'src/realtime/boundary-fixture.ts': "export { CloseCode } from '@libs/client';\n",
      'src/messages/boundary-fixture.ts': "export type { RealtimeMessage } from '@libs/client';\n",
      'src/realtime/allowed-fixture.ts': "export { CloseCode } from '@libs/protocol';\n",
    });

    expect(reported['src/realtime/boundary-fixture.ts']).toEqual([
      expect.stringContaining('The server must not load the generated client'),
    ]);
    expect(reported['src/messages/boundary-fixture.ts']).toEqual([
      expect.stringContaining('The server must not load the generated client'),
    ]);
    expect(reported['src/realtime/allowed-fixture.ts']).toEqual([]);
  });

  it("keeps a feature out of another feature's repository and entities", async () => {
    const reported = await lint({
      'src/messages/repository-fixture.ts':
        "export { RoomsRepository } from '@app/rooms/rooms.repository';\n",
      'src/messages/entity-fixture.ts': "export { Room } from '@app/rooms/room.entity';\n",
      // Its own repository, another feature's service, and an entity as a type are fine.
      'src/messages/allowed-fixture.ts': [
        "export { MessagesRepository } from '@app/messages/messages.repository';",
        "export { RoomsService } from '@app/rooms/rooms.service';",
        "export type { Room } from '@app/rooms/room.entity';",
        '',
      ].join('\n'),
      // An entity names the entities of its relations.
      'src/messages/allowed-fixture.entity.ts': "export { Room } from '@app/rooms/room.entity';\n",
    });

    expect(reported['src/messages/repository-fixture.ts']).toEqual([
      expect.stringContaining("Another feature's repository is private to it"),
    ]);
    expect(reported['src/messages/entity-fixture.ts']).toEqual([
      expect.stringContaining("Another feature's entity is private to it"),
    ]);
    expect(reported['src/messages/allowed-fixture.ts']).toEqual([]);
    expect(reported['src/messages/allowed-fixture.entity.ts']).toEqual([]);
  });

  it('lets only config/ and the entry points read process.env', async () => {
    const readsEnvironment = 'export const port = process.env.PORT;\n';
    const reported = await lint({
      'src/rooms/boundary-fixture.ts': readsEnvironment,
      'libs/cache/src/boundary-fixture.ts': readsEnvironment,
      'test/rooms/boundary-fixture.e2e-spec.ts': readsEnvironment,
      'config/allowed-fixture.ts': readsEnvironment,
      'src/main.ts': readsEnvironment,
    });

    for (const file of [
      'src/rooms/boundary-fixture.ts',
      'libs/cache/src/boundary-fixture.ts',
      'test/rooms/boundary-fixture.e2e-spec.ts',
    ]) {
      expect(reported[file]).toEqual([expect.stringContaining('not process.env')]);
    }
    expect(reported['config/allowed-fixture.ts']).toEqual([]);
    expect(reported['src/main.ts']).toEqual([]);
  });

  it('makes `eslint` (as `npm run lint` runs it) exit non-zero on a boundary violation', () => {
    const run = (filePath: string, code: string) =>
      spawnSync(
        process.execPath,
        [
          join(ROOT, 'node_modules/eslint/bin/eslint.js'),
          '--max-warnings',
          '0',
          '--stdin',
          '--stdin-filename',
          filePath,
        ],
        { cwd: ROOT, input: code, encoding: 'utf8', timeout: 60_000 },
      );

    const violation = run('libs/bus/src/bus.module.ts', "export { APP_CONFIG } from '@config';\n");
    const clean = run(
      'libs/bus/src/bus.module.ts',
      "export { MessageBus } from './message-bus';\n",
    );

    expect(violation.status).toBe(1);
    expect(violation.stdout).toContain('A library must not import the application');
    expect(clean.status).toBe(0);
  }, 120_000);
});
