import { LatencyHistogram } from '@test/scale/latency-histogram';
import { readPostBody } from '@test/scale/post-body';

/** The server writes a live message as `{"event":"message","data":{…}}` (PreparedFrame). */
const MESSAGE_FRAME = Buffer.from('{"event":"message"');
export const BODY = Buffer.from('"body":"');
export const QUOTE = 0x22;

/** What a client process counted: deliveries by `phase:receiver:origin`, and steady latencies. */
export interface DeliveryCounts {
  received: Record<string, number>;
  /** Steady deliveries by post: [receiver instance, post number, count]. */
  steadyByPost: [number, number, number][];
  steadyLatency: [number, number][];
}

/**
 * Counts live deliveries of the suite's posts as frames arrive, before any client logic: a
 * `message` frame whose body carries a post stamp. Synced history (`history` frames) is not a
 * live delivery and is not counted. Reads the body's bytes only: the frame is not parsed.
 */
export class DeliveryTally {
  private readonly received = new Map<string, number>();
  /** Per receiving instance: post number → deliveries. */
  private readonly steadyByPost = new Map<number, Map<number, number>>();
  private readonly steadyLatency = new LatencyHistogram();

  /** One frame received by a socket on instance `receiver`. */
  count(frame: Buffer, receiver: number): void {
    if (
      frame.length <= MESSAGE_FRAME.length ||
      frame.compare(MESSAGE_FRAME, 0, MESSAGE_FRAME.length, 0, MESSAGE_FRAME.length) !== 0
    ) {
      return;
    }
    const at = frame.indexOf(BODY, MESSAGE_FRAME.length);
    const end = at < 0 ? -1 : frame.indexOf(QUOTE, at + BODY.length);
    if (end >= 0) {
      this.countBody(frame.toString('latin1', at + BODY.length, end), receiver);
    }
  }

  /** A message body received live by a socket on instance `receiver`. */
  countBody(body: string, receiver: number): void {
    const stamp = readPostBody(body);
    if (!stamp) {
      return;
    }
    const key = `${stamp.phase}:${receiver}:${stamp.origin}`;
    this.received.set(key, (this.received.get(key) ?? 0) + 1);
    if (stamp.phase === 'steady') {
      this.steadyLatency.add(Date.now() - stamp.sentAt);
      const byPost = this.steadyByPost.get(receiver) ?? new Map<number, number>();
      byPost.set(stamp.index, (byPost.get(stamp.index) ?? 0) + 1);
      this.steadyByPost.set(receiver, byPost);
    }
  }

  counts(): DeliveryCounts {
    return {
      received: Object.fromEntries(this.received),
      steadyByPost: [...this.steadyByPost].flatMap(([receiver, byPost]) =>
        [...byPost].map(([index, count]): [number, number, number] => [receiver, index, count]),
      ),
      steadyLatency: this.steadyLatency.toPairs(),
    };
  }
}
