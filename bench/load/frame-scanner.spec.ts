import { FrameScanner } from './frame-scanner';

const message = (seq: number, body = 'hello') =>
  JSON.stringify({ event: 'message', data: { id: 'm', roomId: 'r', seq, body } });

describe('FrameScanner', () => {
  it('keeps the highest seq of message and read events and counts error events', () => {
    const scanner = new FrameScanner();
    scanner.push(Buffer.from(message(7) + message(9)));
    scanner.push(
      Buffer.from(JSON.stringify({ event: 'read', data: { roomId: 'r', userId: 'u', seq: 8 } })),
    );
    scanner.push(Buffer.from(JSON.stringify({ event: 'error', data: { code: 'rate_limited' } })));
    expect(scanner.highestSeq).toBe(9);
    expect(scanner.errors).toBe(1);
  });

  it('reads a key, its digits and an error event split across chunks, each once', () => {
    const bytes = Buffer.from(
      message(123456) + JSON.stringify({ event: 'error', data: {} }) + message(123457),
    );
    // Every split point of the stream into two chunks gives the same reading.
    for (let split = 1; split < bytes.length; split++) {
      const scanner = new FrameScanner();
      scanner.push(bytes.subarray(0, split));
      scanner.push(bytes.subarray(split));
      expect({ split, seq: scanner.highestSeq, errors: scanner.errors }).toEqual({
        split,
        seq: 123457,
        errors: 1,
      });
    }
  });

  it('does not take a seq written inside a message body', () => {
    const scanner = new FrameScanner();
    scanner.push(Buffer.from(message(3, '"seq":99999 "event":"error"')));
    expect(scanner.highestSeq).toBe(3);
    expect(scanner.errors).toBe(0);
  });
});
