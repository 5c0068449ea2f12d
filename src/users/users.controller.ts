import { Controller, Get, HttpStatus, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ParseIdPipe } from '@app/common/validation/canonical-id';
import { ApiCachedRead, ApiErrors } from '@app/openapi/api-errors.decorator';
import { CacheResponse } from '@libs/cache';
import { AuthenticatedUser } from '@app/auth/authenticated-user';
import { Authenticated, CurrentUser } from '@app/auth/authenticated.decorator';
import { toUserResponse, UserResponseDto } from './users.dto';
import { UsersService } from './users.service';

@Controller('users')
@ApiTags('users')
@Authenticated()
@ApiErrors(HttpStatus.TOO_MANY_REQUESTS)
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** The caller's own profile. */
  // Cached per caller: a repeat is answered before routing, from the verified token and the
  // stored bytes (`EarlyCacheHits`). Tagged like `GET /users/:id` for the day a profile changes.
  @Get('me')
  @ApiCachedRead()
  @CacheResponse({ perCaller: true, tags: (_request, caller) => [`user:${caller}`] })
  async getMyProfile(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    return toUserResponse(await this.users.getUser(caller.id));
  }

  /** Anyone's public profile. */
  @Get(':id')
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  @ApiCachedRead()
  @CacheResponse({ tags: (request) => [`user:${request.params.id}`] })
  async getUserProfile(@Param('id', ParseIdPipe) id: string): Promise<UserResponseDto> {
    return toUserResponse(await this.users.getUser(id));
  }
}
