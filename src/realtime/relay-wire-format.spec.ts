import {
  ControlMessage,
  decodePreviousReleaseMessage,
  decodeRelayMessage,
  previousReleaseControl,
  previousReleaseFrame,
  RELAY_WIRE_VERSION,
  RelayEncoder,
} from './relay-wire-format';

const ORIGIN = '0b7d3c52-8f0e-4c55-9a43-4b0e6a1f2c3d';
const ROOM = '8b027f08-0000-4000-8000-000000000001';
const USER = '5d1c9f7a-0000-4000-8000-000000000002';
const frame = Buffer.from(`{"event":"message","data":{"roomId":"${ROOM}","body":"é ✓"}}`);
const revoked: ControlMessage = { type: 'revoked', roomId: ROOM, userId: USER };
const presence: ControlMessage = { type: 'presence', roomId: ROOM, userId: USER, status: 'online' };

/** What the previous release (commit 56ee10c, `serializeFrame`) published: plain JSON. */
const previousReleaseBytes = (event: string, data: unknown) =>
  Buffer.from(JSON.stringify({ event, data }));

describe('relay wire format', () => {
  const encoder = new RelayEncoder(ORIGIN);

  it('round-trips a frame and control messages with their origin', () => {
    const decodedFrame = decodeRelayMessage(encoder.frame(frame));
    expect(decodedFrame).toMatchObject({ kind: 'frame' });
    expect(decodedFrame.kind === 'frame' && decodedFrame.payload.equals(frame)).toBe(true);
    expect(decodedFrame.kind === 'frame' && decodedFrame.origin.toString()).toBe(ORIGIN);

    for (const message of [revoked, presence, { ...revoked, userId: null }]) {
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
    ]) {
      const data = Buffer.concat([header, Buffer.from(JSON.stringify(body))]);
      expect(decodeRelayMessage(data)).toEqual({ kind: 'unreadable', reason: 'malformed' });
    }
  });

  it('does not take the previous release, or the unversioned origin tag, for this format', () => {
    expect(decodeRelayMessage(previousReleaseBytes('message', {}))).toMatchObject({
      reason: 'version',
    });
    const originTagged = Buffer.concat([Buffer.from(ORIGIN), frame]);
    expect(decodeRelayMessage(originTagged)).toMatchObject({ kind: 'unreadable' });
  });

  describe('the previous release', () => {
    it('reads its messages as frames and its left and presence frames as control', () => {
      const message = previousReleaseBytes('message', { roomId: ROOM, body: 'hi' });
      const decoded = decodePreviousReleaseMessage('room', ROOM, message);
      expect(decoded.kind === 'frame' && decoded.payload.equals(message)).toBe(true);

      // `left` on a room's channel: everyone (the room is gone); on a user's: that user.
      const left = previousReleaseBytes('left', { roomId: ROOM });
      expect(decodePreviousReleaseMessage('room', ROOM, left)).toEqual({
        kind: 'control',
        message: { type: 'revoked', roomId: ROOM, userId: null },
      });
      expect(decodePreviousReleaseMessage('user', USER, left)).toEqual({
        kind: 'control',
        message: revoked,
      });
      const online = previousReleaseBytes('presence', {
        roomId: ROOM,
        userId: USER,
        status: 'online',
      });
      expect(decodePreviousReleaseMessage('room', ROOM, online)).toEqual({
        kind: 'control',
        message: presence,
      });
    });

    it('ignores what is not a frame it relays, and this release origin-tagged bytes', () => {
      const cases: [Buffer, string][] = [
        [Buffer.from('{"event":"message","data":{"ro'), 'malformed'],
        [Buffer.concat([Buffer.from(ORIGIN), frame]), 'malformed'],
        [encoder.frame(frame), 'malformed'],
        [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'malformed'],
        [previousReleaseBytes('left', { roomId: 1 }), 'malformed'],
        [previousReleaseBytes('pong', {}), 'event'],
      ];
      for (const [data, reason] of cases) {
        expect(decodePreviousReleaseMessage('room', ROOM, data)).toEqual({
          kind: 'unreadable',
          reason,
        });
      }
    });

    it('gets copies it reads as its own frames, which this release skips', () => {
      const copy = previousReleaseFrame(frame);
      // The previous release forwards what it receives as is: it must be the same JSON.
      expect(JSON.parse(copy.toString())).toEqual(JSON.parse(frame.toString()));
      expect(decodePreviousReleaseMessage('room', ROOM, copy)).toEqual({ kind: 'copy' });

      // It leaves a room when a frame starts with `{"event":"left"` (56ee10c `revokedRoomOf`).
      const left = previousReleaseControl(revoked);
      expect(left.toString().startsWith('{"event":"left"')).toBe(true);
      expect(JSON.parse(left.toString())).toEqual({ event: 'left', data: { roomId: ROOM } });
      expect(JSON.parse(previousReleaseControl(presence).toString())).toEqual({
        event: 'presence',
        data: { roomId: ROOM, userId: USER, status: 'online' },
      });
      expect(decodePreviousReleaseMessage('user', USER, left)).toEqual({ kind: 'copy' });
    });
  });

  it('refuses an instance id that is not 36 ASCII characters', () => {
    expect(() => new RelayEncoder('short')).toThrow(/36 ASCII/);
    expect(() => new RelayEncoder('é'.repeat(36))).toThrow(/36 ASCII/);
  });
});
