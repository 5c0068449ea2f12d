import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Length, Matches, MaxLength, MinLength } from 'class-validator';
import { UserResponseDto } from '@app/users/users.dto';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
export const PASSWORD_MIN_LENGTH = 12;
/** Argon2 cost grows with the input; a cap keeps one request from costing much. */
export const PASSWORD_MAX_LENGTH = 256;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class RegisterRequestDto {
  /** 3 to 32 letters, digits, `_`, `.` or `-`; unique regardless of case. */
  @ApiProperty({ pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, {
    message: 'username must be 3 to 32 letters, digits, "_", "." or "-"',
  })
  username: string;

  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  /** Shown instead of the username; defaults to it. */
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, 64)
  displayName?: string;
}

export class LoginRequestDto {
  @IsString()
  @Length(1, 64)
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
  accessToken: string;
  /** Single use: trade it at `POST /api/auth/refresh` for a new pair. */
  refreshToken: string;
}

export class AuthResponseDto extends TokenPairResponseDto {
  user: UserResponseDto;
}
