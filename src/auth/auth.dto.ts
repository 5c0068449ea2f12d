import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NOT_BLANK_PATTERN } from '@app/openapi/api-schemas';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import {
  DISPLAY_NAME_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  USERNAME_PATTERN,
  UserResponseDto,
} from '@app/users/users.dto';

/** What `POST /api/auth/login` accepts as a name: longer than any username, shorter than abuse. */
const LOGIN_NAME_MAX_LENGTH = 64;
/** `<sessionId>.<secret>`: a UUID, a dot and 43 base64url characters. */
const REFRESH_TOKEN_LENGTH = 80;
/** An HS256 JWT of `sub`, `sid`, `iat` and `exp` is about 250 characters. */
const ACCESS_TOKEN_MAX_LENGTH = 512;
export const PASSWORD_MIN_LENGTH = 12;
/** Argon2 cost grows with the input; a cap keeps one request from costing much. */
export const PASSWORD_MAX_LENGTH = 256;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class RegisterRequestDto {
  /** 3 to 32 letters, digits, `_`, `.` or `-`; unique regardless of case. */
  @ApiProperty({ pattern: USERNAME_PATTERN.source, maxLength: USERNAME_MAX_LENGTH })
  @IsString()
  @Matches(USERNAME_PATTERN, {
    message: 'username must be 3 to 32 letters, digits, "_", "." or "-"',
  })
  username: string;

  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  /** Shown instead of the username; defaults to it. Surrounding spaces are removed first. */
  @ApiPropertyOptional({ pattern: NOT_BLANK_PATTERN })
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, DISPLAY_NAME_MAX_LENGTH)
  displayName?: string;
}

export class LoginRequestDto {
  @IsString()
  @Length(1, LOGIN_NAME_MAX_LENGTH)
  username: string;

  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  password: string;
}

export class RefreshTokenRequestDto {
  @IsString()
  @Length(1, 200)
  refreshToken: string;
}

export class TokenPairResponseDto {
  /** A JWT for `Authorization: Bearer`, valid for JWT_TTL. */
  @ApiProperty({ maxLength: ACCESS_TOKEN_MAX_LENGTH })
  accessToken: string;
  /** Single use: trade it at `POST /api/auth/refresh` for a new pair. */
  @ApiProperty({ minLength: REFRESH_TOKEN_LENGTH, maxLength: REFRESH_TOKEN_LENGTH })
  refreshToken: string;
}

export class AuthResponseDto extends TokenPairResponseDto {
  user: UserResponseDto;
}
