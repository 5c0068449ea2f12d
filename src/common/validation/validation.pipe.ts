import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { findHostileValue } from './hostile-input';
import { RequestValidationError } from './request-validation.error';

/**
 * The one validation pipe of the app: unknown fields are refused, every bad field is named.
 * Before any DTO rule (and before class-transformer copies the input), it refuses what no rule
 * should have to see: NUL, unpaired surrogates, huge lists, and a body that is not an object.
 */
class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      refuseHostileInput(value, metadata);
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => RequestValidationError.fromValidationErrors(errors),
  });
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
