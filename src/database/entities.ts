import { AuthSession } from '@app/auth/auth-session.entity';
import { User } from '@app/users/user.entity';
import { CreateUsersAndAuthSessions1764100000000 } from './migrations/1764100000000-create-users-and-auth-sessions';

/** Every entity, listed by class so that the same list works under ts-jest and in `dist/`. */
export const ENTITIES = [User, AuthSession];

/** Every migration, oldest first. */
export const MIGRATIONS = [CreateUsersAndAuthSessions1764100000000];
