import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';
import { AppError } from '@app/common/errors/app-error';
import { exceedsJsonDepth } from './json-depth';

/**
 * The app's only body parser: JSON whose nesting is first checked in a linear scan of the raw
 * text, so a deep body is refused in about a millisecond per MiB, before `JSON.parse` or
 * validation walk it. Parsing itself stays Fastify's (prototype-poisoning checks included).
 * Registering it replaces Nest's parsers, so form bodies get 415: the API speaks JSON, and a
 * cross-site HTML form cannot post to it without a CORS preflight.
 */
export function registerJsonBodyParser(app: NestFastifyApplication, maxDepth: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>(
    'application/json',
    { bodyLimit: fastify.initialConfig.bodyLimit },
    (request, body, done) => {
      const text = body.toString('utf8');
      if (exceedsJsonDepth(text, maxDepth)) {
        done(
          new AppError(
            'nesting_too_deep',
            `The body nests objects and arrays deeper than ${maxDepth} levels`,
          ),
          undefined,
        );
        return;
      }
      void parseJson(request, text, done);
    },
  );
}
