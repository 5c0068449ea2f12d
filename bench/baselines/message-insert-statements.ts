/**
 * The statements of Switchboard's message write path (src/messages/messages.repository.ts,
 * `appendOnSqlite` and `appendOnPostgres`), copied on purpose: the bare loops must do the same
 * work per message as the server does today, through the driver alone. Update them when the
 * write path's statements change shape, not when it only gets faster.
 */
export const SQLITE_STATEMENTS = {
  isMember: 'SELECT 1 FROM "room_members" WHERE "roomId" = ? AND "userId" = ?',
  existing:
    'SELECT "id" FROM "messages" WHERE "roomId" = ? AND "senderId" = ? AND "clientMsgId" = ?',
  bumpSeq: 'UPDATE "rooms" SET "lastSeq" = "lastSeq" + 1 WHERE "id" = ? RETURNING "lastSeq"',
  insert: `INSERT INTO "messages" ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt")
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
  /** The sender's own message counts as read (src/rooms/room-sequence.ts, readOwnOnSqlite). */
  readOwn: `UPDATE "room_members" SET "lastReadSeq" = ?
            WHERE "roomId" = ? AND "userId" = ? AND "lastReadSeq" < ?`,
} as const;

export const POSTGRES_STATEMENTS = {
  bumpSeqIfMember: `UPDATE "rooms" SET "lastSeq" = "lastSeq" + 1
    WHERE "id" = $1 AND EXISTS (SELECT 1 FROM "room_members" WHERE "roomId" = $1 AND "userId" = $2)
    RETURNING "lastSeq"`,
  existing:
    'SELECT "id" FROM "messages" WHERE "roomId" = $1 AND "senderId" = $2 AND "clientMsgId" = $3',
  insert: `INSERT INTO "messages" ("id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt")
    VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  /** The sender's own message counts as read (the append's `read_own` CTE). */
  readOwn: `UPDATE "room_members" SET "lastReadSeq" = $3
    WHERE "roomId" = $1 AND "userId" = $2 AND "lastReadSeq" < $3`,
} as const;

/** What a bare insert loop is told to do, and for how long at most. */
export interface InsertLoad {
  roomIds: string[];
  senderId: string;
  seconds: number;
  /** Messages per transaction (SQLite only: 1, or 100 for group commit). */
  perTransaction?: number;
}

/** What a bare insert loop did. */
export interface InsertLoopResult {
  messages: number;
  seconds: number;
  /** Median time of one transaction (commit included), ms. */
  transactionP50Ms: number;
}

/** Bounds every loop: stop after `seconds` or this many messages, whichever comes first. */
export const MAX_MESSAGES_PER_RUN = 2_000_000;
