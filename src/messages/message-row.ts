import { fromSqliteDatetime } from '@app/database/sqlite-writer';
import { Message } from './message.entity';

/** A `messages` row as a raw driver returns it: bigint as string (pg), datetime as text (SQLite). */
export interface MessageRow {
  id: string;
  roomId: string;
  seq: number | string;
  senderId: string;
  body: string;
  clientMsgId: string | null;
  createdAt: Date | string;
}

/** The columns of a `MessageRow`, for raw selects. */
export const MESSAGE_COLUMNS =
  '"id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt"';

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    roomId: row.roomId,
    seq: Number(row.seq),
    senderId: row.senderId,
    body: row.body,
    clientMsgId: row.clientMsgId,
    createdAt: row.createdAt instanceof Date ? row.createdAt : fromSqliteDatetime(row.createdAt),
  };
}
