import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { serveRunner } from '@bench/support/worker-protocol';
import { jsonSchemaOf } from './json-schema-of';

export interface BareHistoryReadConfig {
  port: number;
  /** The server's own SQLite file (WAL: read beside the server). */
  databasePath: string;
  /** Switchboard's answer to the measured request: the shape (and key order) to answer in. */
  sample: unknown;
}

/** What `messages.repository.ts` selects for a forward history page: limit + 1 rows. */
const FORWARD_PAGE_SQL = `SELECT "id", "roomId", "seq", "senderId", "body", "clientMsgId", "createdAt",
    "kind", "messageId", "editedAt", "deletedAt"
  FROM "messages" WHERE "roomId" = ? AND "seq" > ? ORDER BY "seq" ASC LIMIT ?`;

interface Row {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  body: string;
  clientMsgId: string | null;
  createdAt: string;
  kind: string;
  messageId: string | null;
  editedAt: string | null;
  deletedAt: string | null;
}

/** A SQLite datetime column's text as the API writes it. */
const isoOf = (value: string) => new Date(`${value.replace(' ', 'T')}Z`).toISOString();

/**
 * The uncached read's baseline: bare Fastify and better-sqlite3 on the server's own database file
 * answer `GET /api/rooms/:id/messages?limit=N&after=S` with the query Switchboard runs (one
 * indexed select on (roomId, seq), limit + 1 rows, the same driver) and the same bytes, serialized
 * on each request through a response schema. The fastest plain way to do the same useful work;
 * what it leaves out is what Switchboard adds around it: the token, the access decision, the
 * rate limit, the request line. A page with more after it is refused: the bench reads a whole
 * room, and the cursor is Switchboard's own encoding.
 */
async function listen(config: BareHistoryReadConfig): Promise<void> {
  const database = new Database(config.databasePath, { readonly: true, fileMustExist: true });
  const page = database.prepare(FORWARD_PAGE_SQL);
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string }; Querystring: { limit?: string; after?: string } }>(
    '/api/rooms/:id/messages',
    { schema: { response: { 200: jsonSchemaOf(config.sample) } } },
    (request, reply) => {
      const limit = Number(request.query.limit ?? 50);
      const rows = page.all(
        request.params.id,
        Number(request.query.after ?? 0),
        limit + 1,
      ) as Row[];
      if (rows.length > limit) {
        return reply.code(500).send({ message: 'the bench page must hold the whole room' });
      }
      return {
        items: rows.map((row) => ({
          id: row.id,
          roomId: row.roomId,
          seq: row.seq,
          senderId: row.senderId,
          body: row.body,
          clientMsgId: row.clientMsgId,
          createdAt: isoOf(row.createdAt),
          kind: row.kind,
          messageId: row.messageId,
          editedAt: row.editedAt === null ? null : isoOf(row.editedAt),
          deletedAt: row.deletedAt === null ? null : isoOf(row.deletedAt),
        })),
        nextCursor: null,
      };
    },
  );
  await app.listen({ port: config.port, host: '127.0.0.1' });
}

serveRunner({ listen });
