import { ParseUUIDPipe } from '@nestjs/common';
import { TollgateError } from './errors';

/** `@Param('key_id', UuidParam('key_id'))`: a malformed id is a 400 naming the parameter. */
export const UuidParam = (name: string) =>
  new ParseUUIDPipe({
    exceptionFactory: () => new TollgateError('VALIDATION_ERROR', `${name}: must be a UUID`),
  });
