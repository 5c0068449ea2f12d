import type { RealtimeMessage } from '@libs/client';
import request from 'supertest';
import { aMessage, aRoom, MessageRequest, RoomRequest } from '@test/factories/room.factory';
import { bearer, HttpTarget, RegisteredUser } from './auth-helpers';

export interface RoomBody {
  id: string;
  name: string | null;
  visibility: 'public' | 'private' | 'direct';
  ownerId: string | null;
  lastSeq: number;
  createdAt: string;
}

/** A message as the API returns it: the same shape the WebSocket protocol delivers. */
export type MessageBody = RealtimeMessage;

/** Creates a room owned by `owner` through the API. */
export async function createRoom(
  target: HttpTarget,
  owner: RegisteredUser,
  overrides: Partial<RoomRequest> = {},
): Promise<RoomBody> {
  const response = await request(target.server)
    .post('/api/rooms')
    .set(bearer(owner.accessToken))
    .send(aRoom(overrides))
    .expect(201);
  return response.body as RoomBody;
}

export async function joinRoom(
  target: HttpTarget,
  user: RegisteredUser,
  roomId: string,
): Promise<void> {
  await request(target.server)
    .put(`/api/rooms/${roomId}/members/me`)
    .set(bearer(user.accessToken))
    .expect(204);
}

export async function leaveRoom(
  target: HttpTarget,
  user: RegisteredUser,
  roomId: string,
): Promise<void> {
  await request(target.server)
    .delete(`/api/rooms/${roomId}/members/me`)
    .set(bearer(user.accessToken))
    .expect(204);
}

export async function addMember(
  target: HttpTarget,
  owner: RegisteredUser,
  roomId: string,
  userId: string,
): Promise<void> {
  await request(target.server)
    .post(`/api/rooms/${roomId}/members`)
    .set(bearer(owner.accessToken))
    .send({ userId })
    .expect(201);
}

/** The ids of a room's members in the order they joined (one page of up to 200), as `viewer` sees them. */
export async function listMemberIds(
  target: HttpTarget,
  viewer: RegisteredUser,
  roomId: string,
): Promise<string[]> {
  const response = await request(target.server)
    .get(`/api/rooms/${roomId}/members`)
    .query({ limit: 200 })
    .set(bearer(viewer.accessToken))
    .expect(200);
  return (response.body.items as { user: { id: string } }[]).map((member) => member.user.id);
}

/** Posts a message and expects the 201. */
export async function postMessage(
  target: HttpTarget,
  sender: RegisteredUser,
  roomId: string,
  overrides: Partial<MessageRequest> = {},
): Promise<MessageBody> {
  const response = await request(target.server)
    .post(`/api/rooms/${roomId}/messages`)
    .set(bearer(sender.accessToken))
    .send(aMessage(overrides))
    .expect(201);
  return response.body as MessageBody;
}

/** The whole history of a room, page by page (bounded), oldest first. */
export async function readHistory(
  target: HttpTarget,
  reader: RegisteredUser,
  roomId: string,
  maxPages = 100,
): Promise<MessageBody[]> {
  const messages: MessageBody[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const response = await request(target.server)
      .get(`/api/rooms/${roomId}/messages`)
      .query(cursor ? { limit: 200, cursor } : { limit: 200 })
      .set(bearer(reader.accessToken))
      .expect(200);
    messages.push(...(response.body.items as MessageBody[]));
    cursor = response.body.nextCursor as string | null;
    if (!cursor) {
      return messages;
    }
  }
  throw new Error(`History of room ${roomId} has more than ${maxPages} pages`);
}

/** The cached reads of a room: the room itself, its members, its history. */
export const ROOM_READS = ['', '/members', '/messages'] as const;
export type RoomRead = (typeof ROOM_READS)[number];

export interface CachedAnswer {
  status: number;
  /** `HIT` or `MISS`; undefined when the cache was never asked (a guard refused). */
  cache: string | undefined;
  text: string;
  body: unknown;
}

/** `GET /api/rooms/<roomId><read>` as `reader`, whatever the status. */
export async function readRoom(
  target: HttpTarget,
  reader: RegisteredUser,
  roomId: string,
  read: RoomRead = '',
): Promise<CachedAnswer> {
  const response = await request(target.server)
    .get(`/api/rooms/${roomId}${read}`)
    .set(bearer(reader.accessToken));
  return {
    status: response.status,
    cache: response.headers['x-cache'],
    text: response.text,
    body: response.body,
  };
}
