import { AuthSessionSpentSecret } from '@app/auth/auth-session-spent-secret.entity';
import { AuthSession } from '@app/auth/auth-session.entity';
import { Message } from '@app/messages/message.entity';
import { RoomBan } from '@app/rooms/room-ban.entity';
import { RoomMember } from '@app/rooms/room-member.entity';
import { Room } from '@app/rooms/room.entity';
import { User } from '@app/users/user.entity';
import { CreateUsersAndAuthSessions1764100000000 } from './migrations/1764100000000-create-users-and-auth-sessions';
import { CreateRoomsAndMessages1764200000000 } from './migrations/1764200000000-create-rooms-and-messages';
import { CreateAuthSessionSpentSecrets1764310000000 } from './migrations/1764310000000-create-auth-session-spent-secrets';
import { IndexAuthSessionsExpiresAt1765100000000 } from './migrations/1765100000000-index-auth-sessions-expires-at';
import { AddReadStateAndRoomEvents1765200000000 } from './migrations/1765200000000-add-read-state-and-room-events';
import { CreateRoomBans1765210000000 } from './migrations/1765210000000-create-room-bans';

/** Every entity, listed by class so that the same list works under ts-jest and in `dist/`. */
export const ENTITIES = [
  User,
  AuthSession,
  AuthSessionSpentSecret,
  Room,
  RoomMember,
  Message,
  RoomBan,
];

/** Every migration, oldest first. */
export const MIGRATIONS = [
  CreateUsersAndAuthSessions1764100000000,
  CreateRoomsAndMessages1764200000000,
  CreateAuthSessionSpentSecrets1764310000000,
  IndexAuthSessionsExpiresAt1765100000000,
  AddReadStateAndRoomEvents1765200000000,
  CreateRoomBans1765210000000,
];
