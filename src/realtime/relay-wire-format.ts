import type { PresenceStatus } from '@libs/protocol';

/** Whose live frames a channel carries: a room's members, or one user's connections. */
export type Audience = 'room' | 'user';

/** What instances tell each other beside the frames themselves (never sent to a client as is). */
export type ControlMessage =
  | { type: 'revoked'; roomId: string; userId: string | null }
  | { type: 'presence'; roomId: string; userId: string; status: PresenceStatus }
  /** `userId` is typing in the room: its members here, less the user's own connections, are told. */
  | { type: 'typing'; roomId: string; userId: string };

/**
 * The format between instances, versioned so that two releases can run side by side (a rolling
 * upgrade, PRODUCT.md guarantee 13). A relay message is
 *
 *   [version: 1 byte][kind: 1 byte][origin: the instance id, 36 ASCII bytes][body]
 *
 * on `relay:<audience>:<id>`: the body is a frame's JSON text (kind FRAME) or a control message's
 * JSON (kind CONTROL). A later release keeps these channels and raises the version byte: this
 * release ignores (and counts) a version it does not know instead of guessing, and the later one
 * can still read version 1.
 */
export const RELAY_WIRE_VERSION = 1;

const FRAME = 0x01;
const CONTROL = 0x02;
const ORIGIN_LENGTH = 36;
const HEADER_LENGTH = 2 + ORIGIN_LENGTH;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

export const relayChannel = (audience: Audience, id: string) => `relay:${audience}:${id}`;

/** Why a message was ignored (the `reason` label of `switchboard_relay_unreadable_total`). */
export type UnreadableReason =
  /** A relay message of a version this release does not know (a later release). */
  | 'version'
  /** Shorter than its header, or than the smallest body. */
  | 'truncated'
  /** A kind of relay message this release does not know. */
  | 'kind'
  /** Not the JSON it should be (a frame, or a control message of a known type). */
  | 'malformed';

export type RelayMessage =
  | { kind: 'frame'; origin: Buffer; payload: Buffer }
  | { kind: 'control'; origin: Buffer; message: ControlMessage };

export type Unreadable = { kind: 'unreadable'; reason: UnreadableReason };

/** Builds what one instance publishes; the headers are built once. */
export class RelayEncoder {
  private readonly frameHeader: Buffer;
  private readonly controlHeader: Buffer;

  constructor(origin: string) {
    const originBytes = Buffer.from(origin, 'ascii');
    if (originBytes.length !== ORIGIN_LENGTH || originBytes.toString('ascii') !== origin) {
      throw new Error(`An instance id is ${ORIGIN_LENGTH} ASCII characters`);
    }
    this.frameHeader = Buffer.concat([Buffer.from([RELAY_WIRE_VERSION, FRAME]), originBytes]);
    this.controlHeader = Buffer.concat([Buffer.from([RELAY_WIRE_VERSION, CONTROL]), originBytes]);
  }

  /** This instance's origin, as it appears in what it publishes. */
  get origin(): Buffer {
    return this.frameHeader.subarray(2, HEADER_LENGTH);
  }

  frame(payload: Buffer): Buffer {
    return Buffer.concat([this.frameHeader, payload]);
  }

  control(message: ControlMessage): Buffer {
    return Buffer.concat([this.controlHeader, Buffer.from(JSON.stringify(message))]);
  }
}

/** A message from `relay:<audience>:<id>`. */
export function decodeRelayMessage(data: Buffer): RelayMessage | Unreadable {
  if (data.length === 0) {
    return unreadable('truncated');
  }
  if (data[0] !== RELAY_WIRE_VERSION) {
    return unreadable('version');
  }
  if (data.length < HEADER_LENGTH + 2) {
    return unreadable('truncated');
  }
  const origin = data.subarray(2, HEADER_LENGTH);
  const body = data.subarray(HEADER_LENGTH);
  switch (data[1]) {
    case FRAME:
      // The same release built it with JSON.stringify: its ends are enough to tell it from
      // anything else, without parsing it on the way to every client.
      return body[0] === OPEN_BRACE && body[body.length - 1] === CLOSE_BRACE
        ? { kind: 'frame', origin, payload: body }
        : unreadable('malformed');
    case CONTROL: {
      const message = parseControl(body);
      return message ? { kind: 'control', origin, message } : unreadable('malformed');
    }
    default:
      return unreadable('kind');
  }
}

/** A control message of a known type with every field as it should be, else undefined. */
function parseControl(body: Buffer): ControlMessage | undefined {
  const value = parseJson(body);
  if (!isObject(value) || typeof value.roomId !== 'string') {
    return undefined;
  }
  const { type, roomId, userId } = value;
  if (type === 'revoked' && (typeof userId === 'string' || userId === null)) {
    return { type, roomId, userId };
  }
  if (
    type === 'presence' &&
    typeof userId === 'string' &&
    (value.status === 'online' || value.status === 'offline')
  ) {
    return { type, roomId, userId, status: value.status };
  }
  if (type === 'typing' && typeof userId === 'string') {
    return { type, roomId, userId };
  }
  return undefined;
}

function parseJson(data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unreadable(reason: UnreadableReason): Unreadable {
  return { kind: 'unreadable', reason };
}
