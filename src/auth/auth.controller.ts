import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
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
@Public()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @AuthAttempt()
  async register(@Body() request: RegisterRequestDto): Promise<AuthResponseDto> {
    return toAuthResponse(await this.auth.register(request));
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @AuthAttempt()
  async login(@Body() request: LoginRequestDto): Promise<AuthResponseDto> {
    return toAuthResponse(await this.auth.login(request));
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  refreshTokens(@Body() request: RefreshTokenRequestDto): Promise<TokenPairResponseDto> {
    return this.auth.refresh(request.refreshToken);
  }

  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
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
