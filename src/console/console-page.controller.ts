import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '@config';
import { Public } from '@app/auth/authenticated.decorator';
import { AppError } from '@app/common/errors/app-error';

/** The page's routes, outside the `/api` prefix (see ROOT_ROUTES). */
export const CONSOLE_PAGE_ROUTES = ['console', 'console/console.js', 'console/console.css'];

/**
 * Only the page's own script, style sheet and same-origin connections: no inline script or
 * style, nothing from elsewhere. `'self'` covers the same-origin ws:/wss: socket (CSP Level 3).
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface ConsoleAsset {
  type: string;
  body: Buffer;
}

/** Copied beside the compiled controller by nest-cli.json's assets; read once, at start. */
function readAsset(name: string, type: string): ConsoleAsset {
  return { type, body: readFileSync(join(__dirname, 'page', name)) };
}

/**
 * The operator console's static page at /console: public files (the data behind it needs an
 * operator's token), never cached, under a strict CSP; 404 while CONSOLE_USERS is empty.
 */
@Controller('console')
@ApiExcludeController()
@Public()
export class ConsolePageController {
  private readonly page = readAsset('index.html', 'text/html; charset=utf-8');
  private readonly script = readAsset('console.js', 'text/javascript; charset=utf-8');
  private readonly style = readAsset('console.css', 'text/css; charset=utf-8');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  serveConsolePage(@Res({ passthrough: true }) reply: FastifyReply): Buffer {
    return this.send(this.page, reply);
  }

  @Get('console.js')
  serveConsoleScript(@Res({ passthrough: true }) reply: FastifyReply): Buffer {
    return this.send(this.script, reply);
  }

  @Get('console.css')
  serveConsoleStyle(@Res({ passthrough: true }) reply: FastifyReply): Buffer {
    return this.send(this.style, reply);
  }

  private send(asset: ConsoleAsset, reply: FastifyReply): Buffer {
    if (this.config.console.operators.length === 0) {
      throw new AppError('not_found', 'Not found');
    }
    reply
      .header('Content-Type', asset.type)
      .header('Cache-Control', 'no-store')
      .header('Content-Security-Policy', CONSOLE_CONTENT_SECURITY_POLICY)
      .header('X-Content-Type-Options', 'nosniff');
    return asset.body;
  }
}
