import { RealtimeMessage } from '@libs/protocol';
import { RoomSequencer } from './room-sequencer';

function aMessage(seq: number): RealtimeMessage {
  return {
    id: `id-${seq}`,
    roomId: 'room',
    seq,
    senderId: 'user',
    body: `message ${seq}`,
    clientMsgId: null,
    createdAt: new Date(0).toISOString(),
    kind: 'message',
    messageId: null,
    editedAt: null,
    deletedAt: null,
  };
}

describe(RoomSequencer.name, () => {
  let delivered: number[];
  let sequencer: RoomSequencer;

  beforeEach(() => {
    delivered = [];
    sequencer = new RoomSequencer((message) => delivered.push(message.seq));
  });

  it('hands on each message once, in seq order, however it arrives', () => {
    sequencer.startAt(0);
    for (const seq of [1, 1, 3, 2, 2, 5, 4, 3, 6]) {
      sequencer.offer(aMessage(seq));
    }

    expect(delivered).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sequencer.position).toBe(6);
    expect(sequencer.hasGap()).toBe(false);
  });

  it('holds messages past a missing one and says there is a gap until it comes', () => {
    sequencer.startAt(10);
    sequencer.offer(aMessage(11));
    sequencer.offer(aMessage(13));

    expect(delivered).toEqual([11]);
    expect(sequencer.hasGap()).toBe(true);

    sequencer.offer(aMessage(12));
    expect(delivered).toEqual([11, 12, 13]);
    expect(sequencer.hasGap()).toBe(false);
  });

  it('holds everything until its starting point is known, then drops what came before it', () => {
    sequencer.offer(aMessage(4));
    sequencer.offer(aMessage(5));
    expect(delivered).toEqual([]);
    expect(sequencer.hasGap()).toBe(false);

    sequencer.startAt(4);
    expect(delivered).toEqual([5]);
    sequencer.startAt(0);
    expect(sequencer.position).toBe(5);
  });
});
