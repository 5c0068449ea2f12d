import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { Client } from 'pg';
import { signAccessToken } from '@test/support/access-token-forgery';
import { registerUser } from '@test/support/auth-helpers';
import { createRoom } from '@test/support/room-helpers';
import { ServerProcess } from '@test/support/server-process';

/** Long enough for any run: the server closes a socket (4401) when its token expires. */
const TOKEN_LIFETIME_SECONDS = 3 * 3600;
const SESSION_LIFETIME_MS = 24 * 3600_000;
const ROWS_PER_INSERT = 5000;

export interface ScaleSeed {
  roomIds: string[];
  /** An access token per user (index as in the plan). */
  userTokens: string[];
  /** Poster users, members of every room: posterTokens[instance][k]. */
  posterTokens: string[][];
}

/**
 * The suite's users, rooms and memberships. Rooms are created through the API by a user who
 * registered through it; the thousands of users, their logins (auth_sessions rows, which every
 * upgrade checks) and their memberships are inserted in bulk, since registering each through
 * argon2 would take minutes; their access tokens are signed with the fleet's JWT secret, as the
 * server signs them.
 */
export async function seedScale(
  server: ServerProcess,
  databaseUrl: string,
  jwtSecret: string,
  counts: { users: number; rooms: number; posters: number[] },
  roomsOfUser: number[][],
): Promise<ScaleSeed> {
  const owner = await registerUser(server);
  const roomIds: string[] = [];
  for (let room = 0; room < counts.rooms; room++) {
    const created = await createRoom(server, owner, {
      name: `scale room ${room}`,
      visibility: 'public',
    });
    roomIds.push(created.id);
  }
  const posterCount = counts.posters.reduce((sum, count) => sum + count, 0);
  const userIds = Array.from({ length: counts.users + posterCount }, () => randomUUID());
  const sessionIds = userIds.map(() => randomUUID());
  // Nobody logs in with it; a real hash all the same, so the rows are what registration writes.
  const passwordHash = await hash(randomBytes(16).toString('hex'));
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tag = randomBytes(3).toString('hex');
    await insertRows(
      client,
      'users',
      ['id', 'username', 'usernameKey', 'displayName', 'passwordHash'],
      userIds.map((id, index) => {
        const name = `scale_${tag}_${index}`;
        return [id, name, name, name, passwordHash];
      }),
    );
    const expiresAt = new Date(Date.now() + SESSION_LIFETIME_MS);
    await insertRows(
      client,
      'auth_sessions',
      ['id', 'userId', 'refreshTokenHash', 'expiresAt'],
      sessionIds.map((id, index) => [
        id,
        userIds[index],
        createHash('sha256').update(randomBytes(32)).digest('hex'),
        expiresAt,
      ]),
    );
    const joinedAt = new Date();
    const memberships: unknown[][] = [];
    roomsOfUser.forEach((rooms, user) =>
      rooms.forEach((room) => memberships.push([roomIds[room], userIds[user], joinedAt])),
    );
    for (let poster = counts.users; poster < userIds.length; poster++) {
      roomIds.forEach((roomId) => memberships.push([roomId, userIds[poster], joinedAt]));
    }
    await insertRows(client, 'room_members', ['roomId', 'userId', 'joinedAt'], memberships);
  } finally {
    await client.end();
  }
  const now = Math.floor(Date.now() / 1000);
  const tokens = userIds.map((id, index) =>
    signAccessToken(jwtSecret, {
      sub: id,
      sid: sessionIds[index],
      exp: now + TOKEN_LIFETIME_SECONDS,
    }),
  );
  const posterTokens: string[][] = [];
  let next = counts.users;
  for (const count of counts.posters) {
    posterTokens.push(tokens.slice(next, next + count));
    next += count;
  }
  return { roomIds, userTokens: tokens.slice(0, counts.users), posterTokens };
}

/** Multi-row INSERTs of at most ROWS_PER_INSERT rows each. */
async function insertRows(
  client: Client,
  table: string,
  columns: string[],
  rows: unknown[][],
): Promise<void> {
  const columnList = columns.map((column) => `"${column}"`).join(', ');
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    const batch = rows.slice(start, start + ROWS_PER_INSERT);
    const values = batch.map(
      (_, row) =>
        `(${columns.map((_, column) => `$${row * columns.length + column + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO ${table} (${columnList}) VALUES ${values.join(', ')}`,
      batch.flat(),
    );
  }
}
