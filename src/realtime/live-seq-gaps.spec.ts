import { entrySeqOf, LiveSeqGaps } from './live-seq-gaps';
import { PreparedFrame } from './prepared-frame';

const ROOM = 'room-1';
const OTHER_ROOM = 'room-2';
const DEADLINE_MS = 5000;

function tracker(maxPending = 100) {
  const counted: number[] = [];
  const gaps = new LiveSeqGaps((count) => counted.push(count), DEADLINE_MS, maxPending);
  const total = () => counted.reduce((sum, count) => sum + count, 0);
  return { gaps, total };
}

describe(LiveSeqGaps.name, () => {
  it('counts nothing for entries delivered in order, from the first one seen', () => {
    const { gaps, total } = tracker();
    for (const seq of [7, 8, 9, 10]) {
      gaps.delivered(ROOM, seq, 0);
    }
    gaps.expire(DEADLINE_MS * 10);

    expect(total()).toBe(0);
    expect(gaps.pendingSeqs).toBe(0);
  });

  it('does not count a skipped seq that arrives before its deadline (out of order)', () => {
    const { gaps, total } = tracker();
    gaps.delivered(ROOM, 1, 0);
    gaps.delivered(ROOM, 4, 0);
    expect(gaps.pendingSeqs).toBe(2);
    gaps.delivered(ROOM, 3, 1000);
    gaps.delivered(ROOM, 2, DEADLINE_MS - 1);
    gaps.expire(DEADLINE_MS * 10);

    expect(total()).toBe(0);
    expect(gaps.pendingSeqs).toBe(0);
  });

  it('counts a skipped seq still missing at its deadline, once, and not before', () => {
    const { gaps, total } = tracker();
    gaps.delivered(ROOM, 1, 0);
    gaps.delivered(ROOM, 4, 0);
    gaps.delivered(ROOM, 3, 100);

    gaps.expire(DEADLINE_MS - 1);
    expect(total()).toBe(0);
    gaps.expire(DEADLINE_MS);
    expect(total()).toBe(1);
    // Arriving after its deadline does not undo it; a later sweep counts nothing more.
    gaps.delivered(ROOM, 2, DEADLINE_MS + 1);
    gaps.expire(DEADLINE_MS * 10);
    expect(total()).toBe(1);
  });

  it('ignores duplicates and keeps rooms apart', () => {
    const { gaps, total } = tracker();
    gaps.delivered(ROOM, 1, 0);
    gaps.delivered(ROOM, 1, 0);
    gaps.delivered(ROOM, 2, 0);
    gaps.delivered(OTHER_ROOM, 40, 0);
    gaps.delivered(OTHER_ROOM, 42, 0);
    gaps.delivered(ROOM, 2, 0);
    gaps.expire(DEADLINE_MS);

    expect(total()).toBe(1);
    expect(gaps.roomCount).toBe(2);
  });

  it('drops a room with what it waited for when its last member left: nobody is owed those', () => {
    const { gaps, total } = tracker();
    gaps.delivered(ROOM, 1, 0);
    gaps.delivered(ROOM, 10, 0);
    expect(gaps.pendingSeqs).toBe(8);

    gaps.forget(ROOM);
    gaps.expire(DEADLINE_MS * 10);

    expect(total()).toBe(0);
    expect(gaps.roomCount).toBe(0);
    expect(gaps.pendingSeqs).toBe(0);
    // Back with a member: it starts from the first entry it sees again.
    gaps.delivered(ROOM, 20, DEADLINE_MS * 10);
    gaps.expire(DEADLINE_MS * 20);
    expect(total()).toBe(0);
  });

  it('stays within its bound: past it the oldest pending seqs count as gaps at once', () => {
    const { gaps, total } = tracker(10);
    gaps.delivered(ROOM, 0, 0);
    gaps.delivered(ROOM, 8, 0); // 1..7 wait
    gaps.delivered(OTHER_ROOM, 0, 0);
    gaps.delivered(OTHER_ROOM, 6, 0); // 1..5 wait: 2 of ROOM's give way
    expect(gaps.pendingSeqs).toBe(10);
    expect(total()).toBe(2);

    gaps.delivered(ROOM, 100, 0); // 9..99 skipped: 81 counted at once, 10 wait, 10 give way
    expect(gaps.pendingSeqs).toBe(10);
    expect(total()).toBe(2 + 81 + 10);
    gaps.expire(DEADLINE_MS);
    expect(total()).toBe(2 + 81 + 10 + 10);
    expect(gaps.pendingSeqs).toBe(0);
  });
});

describe(entrySeqOf.name, () => {
  const entry = {
    id: 'e2b5c8a0-0000-4000-8000-000000000001',
    roomId: ROOM,
    seq: 1234,
    senderId: 'sender',
    body: 'says "seq":99 in its text',
    clientMsgId: null,
    createdAt: new Date(0).toISOString(),
    kind: 'message' as const,
    messageId: null,
    editedAt: null,
    deletedAt: null,
  };

  it('reads the seq of message, edited and deleted frames as they are serialized', () => {
    expect(entrySeqOf(PreparedFrame.of('message', entry).payload)).toBe(1234);
    expect(entrySeqOf(PreparedFrame.of('edited', { ...entry, seq: 7, kind: 'edit' }).payload)).toBe(
      7,
    );
    expect(
      entrySeqOf(PreparedFrame.of('deleted', { ...entry, seq: 8, kind: 'delete' }).payload),
    ).toBe(8);
  });

  it('finds no seq in frames that are not entries', () => {
    expect(
      entrySeqOf(PreparedFrame.of('read', { roomId: ROOM, userId: 'u', seq: 5 }).payload),
    ).toBeUndefined();
    expect(
      entrySeqOf(PreparedFrame.of('typing', { roomId: ROOM, userId: 'u' }).payload),
    ).toBeUndefined();
  });
});
