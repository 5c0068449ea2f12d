import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BATCH_LENGTH, BatchedLines, LineDestination, sonicBoomFor } from './batched-lines';

/** Records what reaches the destination, write by write. */
class RecordingDestination implements LineDestination {
  readonly writes: string[] = [];
  write(data: string): boolean {
    this.writes.push(data);
    return true;
  }
  flush(callback?: (error?: Error) => void): void {
    callback?.();
  }
  flushSync(): void {}
}

const line = (index: number) => `{"msg":"line ${index}"}\n`;

describe('BatchedLines', () => {
  it('hands lines on in batches, in order, and none is lost', () => {
    const destination = new RecordingDestination();
    const lines = new BatchedLines(destination, 60_000);
    const count = 5_000;
    for (let index = 0; index < count; index++) {
      lines.write(line(index));
    }
    lines.flushSync();

    const expected = Array.from({ length: count }, (_, index) => line(index)).join('');
    expect(destination.writes.join('')).toBe(expected);
    // A write per batch, not per line.
    expect(destination.writes.length).toBeLessThanOrEqual(
      Math.ceil(expected.length / BATCH_LENGTH) + 1,
    );
    expect(destination.writes.length).toBeGreaterThan(1);
  });

  it('writes a lone line once the flush delay has passed', async () => {
    const destination = new RecordingDestination();
    const lines = new BatchedLines(destination, 20);
    lines.write(line(1));
    expect(destination.writes).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(destination.writes).toEqual([line(1)]);
  });

  it("through pino and SonicBoom, every line is in the file after pino's flush", async () => {
    const directory = mkdtempSync(join(tmpdir(), 'batched-lines-'));
    try {
      const file = join(directory, 'log.ndjson');
      const lines = new BatchedLines(sonicBoomFor(file), 60_000);
      const logger = pino({ base: undefined, timestamp: false }, lines);
      for (let index = 0; index < 1_000; index++) {
        logger.info({ index }, 'request completed');
      }
      await new Promise<void>((resolve, reject) =>
        logger.flush((error) => (error ? reject(error) : resolve())),
      );

      const written = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(written).toHaveLength(1_000);
      expect(written.map((text) => (JSON.parse(text) as { index: number }).index)).toEqual(
        Array.from({ length: 1_000 }, (_, index) => index),
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
