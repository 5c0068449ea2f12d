import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';
import { APP_CONFIG, AppConfig } from '@config';
import { BatchedLines, sonicBoomFor } from './batched-lines';
import { logFormatFor } from './log-format';
import { Loggers, LOGGERS } from './logging.tokens';
import { RequestLog } from './request-log';

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

/** The longest a line waits for others before it is written anyway. */
const LOG_FLUSH_AFTER_MS = 100;

function stdoutFor(config: AppConfig): DestinationStream {
  if (logFormatFor(config.environment, process.stdout.isTTY === true) === 'pretty') {
    return pinoPretty({
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,context',
      messageFormat: '{if context}[{context}] {end}{msg}',
    });
  }
  // Asynchronous and batched: lines gather for up to LOG_FLUSH_AFTER_MS or BATCH_LENGTH
  // characters, then go out in one write, not one write each (see BatchedLines for why the batch
  // is made before SonicBoom). What waits is written when the process exits (a drain, an error,
  // SIGTERM); a SIGKILL loses at most the last LOG_FLUSH_AFTER_MS of lines.
  return new BatchedLines(sonicBoomFor(1), LOG_FLUSH_AFTER_MS);
}

function createLoggers(config: AppConfig): Loggers {
  const stdout = stdoutFor(config);
  return {
    root: pino(
      { level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
      stdout,
    ),
    // Request lines are built from fields that hold no secret (`RequestLog`): nothing to redact.
    requests: pino({ level: config.logLevel }, stdout),
  };
}

/** Provides the loggers to nestjs-pino and to the request log. */
@Module({
  providers: [{ provide: LOGGERS, inject: [APP_CONFIG], useFactory: createLoggers }],
  exports: [LOGGERS],
})
class RootLoggerModule {}

/**
 * JSON logs (readable lines at a terminal, see `logFormatFor`), one line per request with its id (`RequestLog`, a Fastify hook); secrets never reach
 * the log. nestjs-pino provides Nest's `Logger` on the same pino instance. Its per-request
 * middleware is left off: it builds a child logger for every request, and the request line does
 * not need one.
 */
@Module({
  imports: [
    RootLoggerModule,
    LoggerModule.forRootAsync({
      imports: [RootLoggerModule],
      inject: [LOGGERS],
      useFactory: (loggers: Loggers) => ({
        pinoHttp: { logger: loggers.root },
        // No routes: nestjs-pino sets up its root logger but binds no middleware to requests.
        forRoutes: [],
      }),
    }),
  ],
  providers: [RequestLog],
})
export class LoggingModule {}
