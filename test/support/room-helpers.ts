import {
  addRoomMember,
  createRoom as createRoomCall,
  joinRoom as joinRoomCall,
  leaveRoom as leaveRoomCall,
  listRoomMembers,
  listRoomMessages,
  postRoomMessage,
  type RealtimeMessage,
} from '@libs/client';
import request from 'supertest';
import { aMessage, aRoom, MessageRequest, RoomRequest } from '@test/factories/room.factory';
import { apiClient, expectStatus, HttpTarget } from './api-client';
import { bearer, RegisteredUser } from './auth-helpers';

// Through the generated client (libs/client), as a caller of the API would; readRoom stays on
// supertest because the raw answer (X-Cache, the exact text) is its point.

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
  const client = apiClient(target, owner.accessToken);
  return expectStatus(createRoomCall({ client, body: aRoom(overrides) }), 201);
}

export async function joinRoom(
  target: HttpTarget,
  user: RegisteredUser,
  roomId: string,
): Promise<void> {
  const client = apiClient(target, user.accessToken);
  await expectStatus(joinRoomCall({ client, path: { id: roomId } }), 204);
}

export async function leaveRoom(
  target: HttpTarget,
  user: RegisteredUser,
  roomId: string,
): Promise<void> {
  const client = apiClient(target, user.accessToken);
  await expectStatus(leaveRoomCall({ client, path: { id: roomId } }), 204);
}

export async function addMember(
  target: HttpTarget,
  owner: RegisteredUser,
  roomId: string,
  userId: string,
): Promise<void> {
  const client = apiClient(target, owner.accessToken);
  await expectStatus(addRoomMember({ client, path: { id: roomId }, body: { userId } }), 201);
}

/** The ids of a room's members in the order they joined (one page of up to 200), as `viewer` sees them. */
export async function listMemberIds(
  target: HttpTarget,
  viewer: RegisteredUser,
  roomId: string,
): Promise<string[]> {
  const client = apiClient(target, viewer.accessToken);
  const page = await expectStatus(
    listRoomMembers({ client, path: { id: roomId }, query: { limit: 200 } }),
    200,
  );
  return page.items.map((member) => member.user.id);
}

/** Posts a message and expects the 201. */
export async function postMessage(
  target: HttpTarget,
  sender: RegisteredUser,
  roomId: string,
  overrides: Partial<MessageRequest> = {},
): Promise<MessageBody> {
  const client = apiClient(target, sender.accessToken);
  return expectStatus(
    postRoomMessage({ client, path: { id: roomId }, body: aMessage(overrides) }),
    201,
  );
}

/** The whole history of a room, page by page (bounded), oldest first. */
export async function readHistory(
  target: HttpTarget,
  reader: RegisteredUser,
  roomId: string,
  maxPages = 100,
): Promise<MessageBody[]> {
  const client = apiClient(target, reader.accessToken);
  const messages: MessageBody[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const query = cursor ? { limit: 200, cursor } : { limit: 200 };
    const { items, nextCursor } = await expectStatus(
      listRoomMessages({ client, path: { id: roomId }, query }),
      200,
    );
    messages.push(...items);
    cursor = nextCursor ?? undefined;
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
