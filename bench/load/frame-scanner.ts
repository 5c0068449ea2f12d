/** `"seq":` as the server writes it in `message`, `read` (and edit/delete) events. */
const SEQ_KEY = Buffer.from('"seq":');
/** The start of an `error` event: a frame the server refused. */
const ERROR_EVENT = Buffer.from('"event":"error"');
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Reads a reader's incoming bytes without parsing frames: the highest `seq` that went by (the
 * room's lastSeq as this reader last saw it) and how many error events came. Bytes are scanned
 * as TCP delivers them, so a key or its digits may be split across chunks: the tail that may
 * start an unfinished match is carried into the next chunk. A `seq` inside a message body cannot
 * match: JSON escapes its quotes.
 */
export class FrameScanner {
  highestSeq = 0;
  errors = 0;
  private carry = Buffer.alloc(0);

  push(chunk: Buffer): void {
    const carried = this.carry.length;
    const data = carried > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let keepFrom = Math.max(0, data.length - (Math.max(SEQ_KEY.length, ERROR_EVENT.length) - 1));
    for (let at = data.indexOf(SEQ_KEY); at !== -1; at = data.indexOf(SEQ_KEY, at + 1)) {
      let end = at + SEQ_KEY.length;
      let value = 0;
      while (end < data.length && data[end] >= ZERO && data[end] <= NINE) {
        value = value * 10 + (data[end] - ZERO);
        end++;
      }
      if (end === data.length) {
        // The digits may go on in the next chunk: read this one again then.
        keepFrom = Math.min(keepFrom, at);
        break;
      }
      this.highestSeq = Math.max(this.highestSeq, value);
    }
    for (let at = data.indexOf(ERROR_EVENT); at !== -1; at = data.indexOf(ERROR_EVENT, at + 1)) {
      // One that lies wholly in the carried bytes was counted with the chunk before.
      if (at + ERROR_EVENT.length > carried) {
        this.errors++;
      }
    }
    this.carry = Buffer.from(data.subarray(keepFrom));
  }
}
