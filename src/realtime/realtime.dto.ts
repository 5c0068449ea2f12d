import { IsString, Length } from 'class-validator';

/** `auth {token}`: a fresh access token for a connection whose token is about to expire. */
export class AuthFrameDto {
  @IsString()
  @Length(1, 4096)
  token: string;
}

/** `ping {}`. */
export class PingFrameDto {}
