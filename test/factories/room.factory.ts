import { randomBytes } from 'node:crypto';

export interface RoomRequest {
  name: string;
  visibility: 'public' | 'private';
}

export interface MessageRequest {
  body: string;
  clientMsgId?: string;
}

let sequence = 0;

/** A valid, unique public room; override any field. */
export function aRoom(overrides: Partial<RoomRequest> = {}): RoomRequest {
  sequence += 1;
  return {
    name: `room ${sequence} ${randomBytes(3).toString('hex')}`,
    visibility: 'public',
    ...overrides,
  };
}

/** A valid message with a fresh clientMsgId; override any field. */
export function aMessage(overrides: Partial<MessageRequest> = {}): MessageRequest {
  sequence += 1;
  return {
    body: `message ${sequence}`,
    clientMsgId: `client-${sequence}-${randomBytes(4).toString('hex')}`,
    ...overrides,
  };
}
