import { User } from './user.entity';

/** A user as anyone may see them: never the password hash or internal columns. */
export class UserResponseDto {
  id: string;
  username: string;
  displayName: string;
  createdAt: string;
}

export function toUserResponse(user: User): UserResponseDto {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    createdAt: user.createdAt.toISOString(),
  };
}
