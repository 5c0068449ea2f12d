import { LatencyHistogram } from './latency-histogram';
import { DeliveryTally } from './load/delivery-tally';
import { ResumeTracker } from './load/resume-tracker';
import { postBody } from './post-body';
import { DEFAULT_SCALE_OPTIONS, ScaleOptions } from './scale-options';
import { expectedDeliveries, KILLED, membersByRoom, planScale } from './scale-plan';

const options = (sockets: number, users: number): ScaleOptions => ({
  ...DEFAULT_SCALE_OPTIONS,
  sockets,
  users,
  socketsPerProcess: 250,
  output: '',
});

describe('planScale', () => {
  const plan = planScale(options(1000, 100), 120);

  it('gives each instance half the sockets and each room the same share of them', () => {
    const members = membersByRoom(plan, 100, () => true);
    // 500 sockets per instance × 3 rooms / 100 rooms.
    expect(members.flat().every((count) => count === 15)).toBe(true);
  });

  it('spreads the resuming clients over the killed instance and its client processes', () => {
    const resuming = plan.sockets.filter((socket) => socket.resuming);
    expect(resuming).toHaveLength(120);
    expect(resuming.every((socket) => socket.instance === KILLED)).toBe(true);
    const perProcess = plan.processes
      .filter((process) => process.instance === KILLED)
      .map((process) => process.sockets.filter((socket) => socket.resuming).length);
    expect(perProcess).toEqual([60, 60]);
    expect(new Set(plan.processes.map((process) => process.localAddress)).size).toBe(4);
  });

  it('owes each stored post to every open socket in its room, split by instance', () => {
    const members = [
      [2, 0],
      [1, 3],
    ];
    // Instance 0 stored 5 posts in room 0; instance 1 stored 1 in room 1.
    const acked = [
      [5, 0],
      [0, 1],
    ];
    expect(expectedDeliveries(members, acked)).toEqual({ sameInstance: 10 + 3, crossInstance: 5 });
  });
});

describe(ResumeTracker.name, () => {
  const message = (seq: number) => ({
    roomId: 'r',
    seq,
    id: `m${seq}`,
    senderId: 's',
    body: '',
    clientMsgId: null,
    createdAt: '',
    kind: 'message' as const,
    messageId: null,
    editedAt: null,
    deletedAt: null,
  });

  it('counts what was handed on twice, skipped, or not yet at all', () => {
    const tracker = new ResumeTracker();
    tracker.joined('r', 3);
    [4, 5, 5, 7].forEach((seq) => tracker.message(message(seq)));
    expect({ missing: tracker.missing, duplicates: tracker.duplicates }).toEqual({
      missing: 1,
      duplicates: 1,
    });
    expect(tracker.behind({ r: 9 })).toBe(2);
    expect(tracker.behind({ r: 7 })).toBe(0);
  });
});

describe(DeliveryTally.name, () => {
  it("counts live message frames of the suite's posts, not synced history", () => {
    const tally = new DeliveryTally();
    const body = postBody({ phase: 'steady', origin: 1, sentAt: Date.now() - 40 }, 7);
    const live = { event: 'message', data: { roomId: 'r', seq: 1, body } };
    const history = { event: 'history', data: { roomId: 'r', messages: [{ body }] }, ref: 'r1' };
    tally.count(Buffer.from(JSON.stringify(live)), 0);
    tally.count(Buffer.from(JSON.stringify(history)), 0);
    tally.count(Buffer.from(JSON.stringify({ event: 'message', data: { body: 'hello' } })), 0);
    expect(tally.counts().received).toEqual({ 'steady:0:1': 1 });
    expect(tally.counts().steadyByPost).toEqual([[0, 7, 1]]);
    expect(tally.counts().steadyLatency).toHaveLength(1);
  });
});

describe(LatencyHistogram.name, () => {
  it('reads percentiles from 1 ms buckets, also after adding another histogram', () => {
    const one = new LatencyHistogram();
    const other = new LatencyHistogram();
    for (let ms = 1; ms <= 100; ms++) {
      (ms % 2 ? one : other).add(ms);
    }
    one.addPairs(other.toPairs());
    expect([one.percentile(50), one.percentile(99), one.count]).toEqual([50, 99, 100]);
  });
});
