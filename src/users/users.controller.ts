import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { CacheResponse } from '@libs/cache';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { Authenticated, CurrentUser } from '@app/auth/authenticated.decorator';
import { toUserResponse, UserResponseDto } from './users.dto';
import { UsersService } from './users.service';

@Controller('users')
@Authenticated()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  async getMyProfile(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    return toUserResponse(await this.users.getUser(caller.id));
  }

  @Get(':id')
  @CacheResponse({ tags: (request) => [`user:${request.params.id}`] })
  async getUserProfile(@Param('id', ParseUUIDPipe) id: string): Promise<UserResponseDto> {
    return toUserResponse(await this.users.getUser(id));
  }
}
