import { BadRequestException, ValidationError } from '@nestjs/common';
import { FieldError } from '@app/common/errors/error-response.dto';

/** A 400 that names every bad field of a request, nested fields by their dotted path. */
export class RequestValidationError extends BadRequestException {
  constructor(readonly details: FieldError[]) {
    super(details.map((detail) => detail.message).join('; '));
  }

  static fromValidationErrors(errors: ValidationError[]): RequestValidationError {
    return new RequestValidationError(flatten(errors, ''));
  }
}

function flatten(errors: ValidationError[], parentPath: string): FieldError[] {
  return errors.flatMap((error) => {
    const field = parentPath ? `${parentPath}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}
