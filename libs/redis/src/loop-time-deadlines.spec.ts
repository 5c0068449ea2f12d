import { performance } from 'node:perf_hooks';
import { Command } from 'ioredis';
import { LoopTimeDeadlines, withinLoopTime } from './loop-time-deadlines';
import { COMMAND_TIMED_OUT, commandDeadlines } from './watched-redis';

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

describe(LoopTimeDeadlines.name, () => {
  let deadlines: LoopTimeDeadlines<Command>;

  /** A real ioredis command, sent nowhere: the test plays Redis by answering it or not. */
  function sentCommand(): Command {
    const command = new Command('get', ['key'], { replyEncoding: 'utf8' });
    deadlines.watch(command);
    return command;
  }

  beforeEach(() => (deadlines = commandDeadlines(TIMEOUT_MS)));
  afterEach(() => deadlines.stop());

  it('fails a command that gets no answer within the timeout while the loop is free', async () => {
    const started = performance.now();
    const command = sentCommand();

    await expect(command.promise).rejects.toThrow(COMMAND_TIMED_OUT);
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS * 3);
  });

  it('does not count a stall of the event loop: an answer read after it still counts', async () => {
    const command = sentCommand();
    stallEventLoop(TIMEOUT_MS * 5);
    // The answer is read some time after the stall, within the budget of free loop time.
    await sleep(TIMEOUT_MS / 2);
    command.resolve(Buffer.from('value'));

    await expect(command.promise).resolves.toBe('value');
  });

  it('after a stall, still fails a command that stays unanswered', async () => {
    const command = sentCommand();
    stallEventLoop(TIMEOUT_MS * 5);
    const afterStall = performance.now();

    await expect(command.promise).rejects.toThrow(COMMAND_TIMED_OUT);
    // What was left of the budget counts from the end of the stall.
    expect(performance.now() - afterStall).toBeLessThan(TIMEOUT_MS * 2);
  });

  it('forgets answered commands and stops ticking', async () => {
    const commands = [sentCommand(), sentCommand()];
    expect(deadlines.watching).toBe(2);
    for (const command of commands) {
      command.resolve(Buffer.from('OK'));
    }
    await Promise.all(commands.map((command) => command.promise));

    await sleep(TIMEOUT_MS / 2);
    expect(deadlines.watching).toBe(0);
  });
});

describe(withinLoopTime.name, () => {
  const timedOut = () => new Error('probe timed out');

  it('passes an answer through, and rejects one that never comes', async () => {
    await expect(withinLoopTime(Promise.resolve('up'), TIMEOUT_MS, timedOut)).resolves.toBe('up');
    await expect(
      withinLoopTime(new Promise<never>(() => undefined), TIMEOUT_MS, timedOut),
    ).rejects.toThrow('probe timed out');
  });

  it('does not time out an answer that waited behind a stall', async () => {
    // Answered after the timers phase that follows the stall, as a socket read would be.
    const answer = new Promise<string>((resolve) =>
      setTimeout(() => setImmediate(resolve, 'up'), 10),
    );
    const probe = withinLoopTime(answer, TIMEOUT_MS, timedOut);
    stallEventLoop(TIMEOUT_MS * 5);

    await expect(probe).resolves.toBe('up');
  });
});
