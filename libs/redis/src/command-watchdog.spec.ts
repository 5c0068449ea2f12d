import { performance } from 'node:perf_hooks';
import { Command } from 'ioredis';
import { COMMAND_TIMED_OUT, CommandWatchdog } from './command-watchdog';

const TIMEOUT_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  let spins = 0;
  while (performance.now() < until) {
    spins += 1;
  }
  expect(spins).toBeGreaterThan(0);
}

/** A real ioredis command, sent nowhere: the test plays Redis by resolving it or not. */
function sentCommand(watchdog: CommandWatchdog): Command {
  const command = new Command('get', ['key'], { replyEncoding: 'utf8' });
  watchdog.watch(command);
  return command;
}

describe(CommandWatchdog.name, () => {
  let watchdog: CommandWatchdog;

  beforeEach(() => (watchdog = new CommandWatchdog(TIMEOUT_MS)));
  afterEach(() => watchdog.stop());

  it('fails a command that gets no answer within the timeout while the loop is free', async () => {
    const started = performance.now();
    const command = sentCommand(watchdog);

    await expect(command.promise).rejects.toThrow(COMMAND_TIMED_OUT);
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS * 3);
  });

  it('does not count a stall of the event loop: an answer read after it still counts', async () => {
    const command = sentCommand(watchdog);
    stallEventLoop(TIMEOUT_MS * 5);
    // The reply is read some time after the stall, within the budget of free loop time.
    await sleep(TIMEOUT_MS / 2);
    command.resolve(Buffer.from('value'));

    await expect(command.promise).resolves.toBe('value');
  });

  it('after a stall, still fails a command that stays unanswered', async () => {
    const command = sentCommand(watchdog);
    stallEventLoop(TIMEOUT_MS * 5);
    const afterStall = performance.now();

    await expect(command.promise).rejects.toThrow(COMMAND_TIMED_OUT);
    // The budget left counts in free loop time from the end of the stall, not from zero.
    expect(performance.now() - afterStall).toBeLessThan(TIMEOUT_MS * 2);
  });

  it('forgets answered commands and stops ticking', async () => {
    const commands = [sentCommand(watchdog), sentCommand(watchdog)];
    expect(watchdog.watching).toBe(2);
    for (const command of commands) {
      command.resolve(Buffer.from('OK'));
    }
    await Promise.all(commands.map((command) => command.promise));

    await sleep(TIMEOUT_MS / 2);
    expect(watchdog.watching).toBe(0);
  });
});
