import { IncomingMessage } from 'node:http';
import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@config';
import { redactUrl } from './redact-url';

/** Paths of log fields that may hold a secret; pino replaces their values. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.accessToken',
  '*.refreshToken',
  '*.token',
];

/** JSON logs, one line per request with its id; secrets never reach the log. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // Every route; the library's default ('*') is the pre-path-to-regexp-8 spelling.
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        pinoHttp: {
          level: config.logLevel,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          serializers: {
            req: (request: { id: unknown; method: string; url: string; headers: unknown }) => ({
              id: request.id,
              method: request.method,
              url: redactUrl(request.url),
              headers: request.headers,
            }),
            res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
          },
          customProps: (request: IncomingMessage) => ({ requestId: request.id }),
        },
      }),
    }),
  ],
})
export class LoggingModule {}
