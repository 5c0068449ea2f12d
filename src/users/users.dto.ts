import { User } from './user.entity';
import { ApiProperty } from '@nestjs/swagger';
import { UUID_SCHEMA, TIMESTAMP_SCHEMA } from '@app/openapi/api-schemas';

export const USERNAME_MAX_LENGTH = 32;
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
export const DISPLAY_NAME_MAX_LENGTH = 64;

/** A user as anyone may see them: never the password hash or internal columns. */
export class UserResponseDto {
  @ApiProperty(UUID_SCHEMA)
  id: string;
  @ApiProperty({ pattern: USERNAME_PATTERN.source, maxLength: USERNAME_MAX_LENGTH })
  username: string;
  @ApiProperty({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH })
  displayName: string;
  @ApiProperty(TIMESTAMP_SCHEMA)
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
