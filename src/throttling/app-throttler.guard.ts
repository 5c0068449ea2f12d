import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';

/**
 * The throttler guard, plus a plain `Retry-After` whichever limit was hit: the library names the
 * header after a non-default throttler (`Retry-After-auth`), which clients do not know to read.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  protected override throwThrottlingException(
    context: ExecutionContext,
    limit: ThrottlerLimitDetail,
  ): Promise<void> {
    const response = context
      .switchToHttp()
      .getResponse<{ header(name: string, value: number): void }>();
    response.header('Retry-After', Math.max(1, limit.timeToBlockExpire));
    throw new ThrottlerException();
  }
}
