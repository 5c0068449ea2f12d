import {
  CanActivate,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  Injectable,
  Scope,
  Type,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CacheResponse } from './cache-response.decorator';
import { CacheModule } from './cache.module';

@Catch()
class AnswerFilter implements ExceptionFilter {
  catch(): void {}
}

@Catch()
class OtherFilter implements ExceptionFilter {
  catch(): void {}
}

@Controller('things')
class ThingsController {
  @Get()
  @CacheResponse({ tags: () => ['things'] })
  listThings() {
    return [];
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequestGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
class StaticGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

async function start(
  guard: typeof PerRequestGuard | typeof StaticGuard,
  filter: Type<ExceptionFilter> = AnswerFilter,
): Promise<string> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      CacheModule.forRoot({ defaultTtlMs: 60_000, earlyHits: { exceptionFilter: AnswerFilter } }),
    ],
    controllers: [ThingsController],
    providers: [
      { provide: APP_FILTER, useClass: filter },
      { provide: APP_GUARD, useClass: guard },
    ],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
    logger: false,
  });
  try {
    await app.init();
    return 'started';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await app.close();
  }
}

describe('EarlyCacheHits at start-up', () => {
  it('refuses to start when Nest would run a guard it cannot run before a cached answer', async () => {
    // Positive control: the same app with a static global guard starts.
    expect(await start(StaticGuard)).toBe('started');
    expect(await start(PerRequestGuard)).toMatch(/request-scoped global guard/);
  });

  it('refuses to start when the configured exception filter is not the one Nest uses', async () => {
    expect(await start(StaticGuard, OtherFilter)).toMatch(/not exactly AnswerFilter/);
  });
});
