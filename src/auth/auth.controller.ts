import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@app/openapi/api-errors.decorator';
import { toUserResponse } from '@app/users/users.dto';
import { AuthAttempt } from '@app/throttling/auth-attempt.decorator';
import {
  AuthResponseDto,
  LoginRequestDto,
  RefreshTokenRequestDto,
  RegisterRequestDto,
  TokenPairResponseDto,
} from './auth.dto';
import { AuthResult, AuthService } from './auth.service';
import { Public } from './authenticated.decorator';

@Controller('auth')
@ApiTags('auth')
@ApiErrors(
  HttpStatus.BAD_REQUEST,
  HttpStatus.PAYLOAD_TOO_LARGE,
  HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  HttpStatus.TOO_MANY_REQUESTS,
)
@Public()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Creates an account and logs it in. */
  @Post('register')
  @AuthAttempt()
  @ApiErrors(HttpStatus.CONFLICT)
  async register(@Body() request: RegisterRequestDto): Promise<AuthResponseDto> {
    return toAuthResponse(await this.auth.register(request));
  }

  /** Logs in; the same 401 for an unknown name as for a wrong password. */
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @AuthAttempt()
  @ApiErrors(HttpStatus.UNAUTHORIZED)
  async login(@Body() request: LoginRequestDto): Promise<AuthResponseDto> {
    return toAuthResponse(await this.auth.login(request));
  }

  /** Trades a refresh token for a new pair; a spent token revokes its whole login. */
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiErrors(HttpStatus.UNAUTHORIZED)
  refreshTokens(@Body() request: RefreshTokenRequestDto): Promise<TokenPairResponseDto> {
    return this.auth.refresh(request.refreshToken);
  }

  /** Ends the login of a refresh token, on every instance; 401 when the token proves nothing. */
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors(HttpStatus.UNAUTHORIZED)
  async logout(@Body() request: RefreshTokenRequestDto): Promise<void> {
    await this.auth.logout(request.refreshToken);
  }
}

function toAuthResponse(result: AuthResult): AuthResponseDto {
  return {
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    user: toUserResponse(result.user),
  };
}
