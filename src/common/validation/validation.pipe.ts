import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum';
import { CompiledLocation, CompiledRequestSchemas } from './compiled-request-schemas';
import { findHostileValue } from './hostile-input';
import { RequestValidationError } from './request-validation.error';

/**
 * The one validation pipe of the app: unknown fields are refused, every bad field is named.
 * Before any DTO rule (and before class-transformer copies the input), it refuses what no rule
 * should have to see: NUL, unpaired surrogates, huge lists, and a body that is not an object.
 * Then a DTO compiled from the OpenAPI document is checked by its compiled schema; what that
 * refuses, and every other DTO, goes to class-validator, which writes the 400.
 */
class AppValidationPipe extends ValidationPipe {
  constructor(
    private readonly compiled: CompiledRequestSchemas | undefined,
    ...options: ConstructorParameters<typeof ValidationPipe>
  ) {
    super(...options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      refuseHostileInput(value, metadata);
    }
    const location = compiledLocationOf(metadata);
    if (this.compiled && location && metadata.metatype) {
      const accepted = this.compiled.accept(metadata.metatype, location, value);
      if (accepted) {
        return accepted;
      }
    }
    return super.transform(value, metadata);
  }
}

/** With `compiled`, the DTOs compiled from the OpenAPI document skip class-validator. */
export function createValidationPipe(compiled?: CompiledRequestSchemas): ValidationPipe {
  return new AppValidationPipe(compiled, {
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => RequestValidationError.fromValidationErrors(errors),
  });
}
/** A whole body or query DTO; a WebSocket frame's `@MessageBody()` is a body. */
function compiledLocationOf(metadata: ArgumentMetadata): CompiledLocation | undefined {
  if (metadata.data !== undefined) {
    return undefined;
  }
  if (metadata.type === 'body' || metadata.type === 'query') {
    return metadata.type;
  }
  return (metadata.type as unknown) === WsParamtype.PAYLOAD ? 'body' : undefined;
}

function refuseHostileInput(value: unknown, metadata: ArgumentMetadata): void {
  const describesObject = metadata.data === undefined && isDtoClass(metadata.metatype);
  if (
    describesObject &&
    value !== undefined &&
    (typeof value !== 'object' || Array.isArray(value))
  ) {
    const what = metadata.type === 'body' ? 'The body' : `The ${metadata.type}`;
    throw new RequestValidationError([
      { field: metadata.type, message: `${what} must be a JSON object` },
    ]);
  }
  const problem = findHostileValue(value, metadata.data ?? '');
  if (problem) {
    throw new RequestValidationError([{ ...problem, field: problem.field || metadata.type }]);
  }
}

function isDtoClass(metatype: ArgumentMetadata['metatype']): boolean {
  return (
    typeof metatype === 'function' &&
    ![String, Number, Boolean, Array, Object].includes(metatype as never)
  );
}
