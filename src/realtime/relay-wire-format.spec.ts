import {
  ControlMessage,
  decodeRelayMessage,
  RELAY_WIRE_VERSION,
  RelayEncoder,
} from './relay-wire-format';

const ORIGIN = '0b7d3c52-8f0e-4c55-9a43-4b0e6a1f2c3d';
const ROOM = '8b027f08-0000-4000-8000-000000000001';
const USER = '5d1c9f7a-0000-4000-8000-000000000002';
const frame = Buffer.from(`{"event":"message","data":{"roomId":"${ROOM}","body":"é ✓"}}`);
const revoked: ControlMessage = { type: 'revoked', roomId: ROOM, userId: USER };
const presence: ControlMessage = { type: 'presence', roomId: ROOM, userId: USER, status: 'online' };
const typing: ControlMessage = { type: 'typing', roomId: ROOM, userId: USER };

/** What releases before the relay (commit 56ee10c, `serializeFrame`) published: plain JSON. */
const plainFrame = (event: string, data: unknown) => Buffer.from(JSON.stringify({ event, data }));

describe('relay wire format', () => {
  const encoder = new RelayEncoder(ORIGIN);

  it('round-trips a frame and control messages with their origin', () => {
    const decodedFrame = decodeRelayMessage(encoder.frame(frame));
    expect(decodedFrame).toMatchObject({ kind: 'frame' });
    expect(decodedFrame.kind === 'frame' && decodedFrame.payload.equals(frame)).toBe(true);
    expect(decodedFrame.kind === 'frame' && decodedFrame.origin.toString()).toBe(ORIGIN);

    for (const message of [revoked, presence, typing, { ...revoked, userId: null }]) {
      const decoded = decodeRelayMessage(encoder.control(message));
      expect(decoded).toMatchObject({ kind: 'control', message });
      expect(decoded.kind === 'control' && decoded.origin.equals(encoder.origin)).toBe(true);
    }
  });

  it('starts with the version byte, so that a later release can read this one', () => {
    expect(encoder.frame(frame)[0]).toBe(RELAY_WIRE_VERSION);
    expect(encoder.control(revoked)[0]).toBe(RELAY_WIRE_VERSION);
  });

  it('does not read a version it does not know, nor an unknown kind', () => {
    const later = Buffer.from(encoder.frame(frame));
    later[0] = RELAY_WIRE_VERSION + 1;
    expect(decodeRelayMessage(later)).toEqual({ kind: 'unreadable', reason: 'version' });

    const unknownKind = Buffer.from(encoder.frame(frame));
    unknownKind[1] = 0x7f;
    expect(decodeRelayMessage(unknownKind)).toEqual({ kind: 'unreadable', reason: 'kind' });
  });

  it('refuses truncated input at every length short of a whole message', () => {
    const whole = encoder.frame(frame);
    for (const length of [0, 1, 2, 20, 37, 38, 39]) {
      const decoded = decodeRelayMessage(whole.subarray(0, length));
      expect([length, decoded]).toEqual([length, { kind: 'unreadable', reason: 'truncated' }]);
    }
    // A frame cut inside its body, or a control message cut anywhere, is not JSON any more.
    expect(decodeRelayMessage(whole.subarray(0, whole.length - 3))).toMatchObject({
      reason: 'malformed',
    });
    const control = encoder.control(revoked);
    expect(decodeRelayMessage(control.subarray(0, control.length - 5))).toMatchObject({
      reason: 'malformed',
    });
  });

  it('refuses a control message of an unknown type or with a wrong field', () => {
    const header = encoder.control(revoked).subarray(0, 38);
    for (const body of [
      { type: 'renamed', roomId: ROOM },
      { type: 'revoked', roomId: 7, userId: null },
      { type: 'presence', roomId: ROOM, userId: USER, status: 'away' },
      { type: 'typing', roomId: ROOM },
      { type: 'typing', roomId: ROOM, userId: null },
      { type: 'typing', roomId: [ROOM], userId: USER },
    ]) {
      const data = Buffer.concat([header, Buffer.from(JSON.stringify(body))]);
      expect(decodeRelayMessage(data)).toEqual({ kind: 'unreadable', reason: 'malformed' });
    }
  });

  it('does not take a plain JSON frame, or the unversioned origin tag, for this format', () => {
    expect(decodeRelayMessage(plainFrame('message', { roomId: ROOM }))).toEqual({
      kind: 'unreadable',
      reason: 'version',
    });
    const originTagged = Buffer.concat([Buffer.from(ORIGIN), frame]);
    expect(decodeRelayMessage(originTagged)).toMatchObject({ kind: 'unreadable' });
  });

  it('refuses an instance id that is not 36 ASCII characters', () => {
    expect(() => new RelayEncoder('short')).toThrow(/36 ASCII/);
    expect(() => new RelayEncoder('é'.repeat(36))).toThrow(/36 ASCII/);
  });
});
