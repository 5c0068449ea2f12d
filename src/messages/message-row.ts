import type { RoomEventKind } from '@libs/protocol';
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
  kind: RoomEventKind;
  messageId: string | null;
  editedAt: Date | string | null;
  deletedAt: Date | string | null;
}

/** The columns of a `MessageRow`, for raw selects. */
export const MESSAGE_COLUMNS =
  '"id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt", "kind", "messageId", "editedAt", "deletedAt"';

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    roomId: row.roomId,
    seq: Number(row.seq),
    senderId: row.senderId,
    body: row.body,
    clientMsgId: row.clientMsgId,
    createdAt: toDate(row.createdAt),
    kind: row.kind,
    messageId: row.messageId,
    editedAt: row.editedAt === null ? null : toDate(row.editedAt),
    deletedAt: row.deletedAt === null ? null : toDate(row.deletedAt),
  };
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : fromSqliteDatetime(value);
}
