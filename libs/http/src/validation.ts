import {
  ArgumentMetadata,
  ValidationError,
  ValidationPipe,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { ValidateIf } from 'class-validator';
import { compiledValidationDtos, compiledValidator, isNotUndefined } from './compiled-validation';
import { TollgateError } from './errors';

/**
 * The field may be omitted, but not sent as `null`: unlike `@IsOptional()`, a null is validated (and
 * refused by the field's other rules, with a 400 naming it). Keep `@IsOptional()` for fields whose
 * type includes `null` because null means something (clear, fall back, none).
 */
export const OptionalNotNull = () => ValidateIf(isNotUndefined);

/** Constraints that say the value has the wrong type: when one fails, the range checks are noise. */
const TYPE_CONSTRAINTS = [
  'whitelistValidation',
  'isInt',
  'isNumber',
  'isString',
  'isBoolean',
  'isArray',
  'isObject',
  'isUuid',
  'isEnum',
  'isIn',
];

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const constraints = e.constraints ?? {};
    const typeKey = TYPE_CONSTRAINTS.find((k) => k in constraints);
    const messages = typeKey ? [constraints[typeKey]] : Object.values(constraints);
    const own = messages.map((msg) =>
      typeKey === 'whitelistValidation'
        ? `${path}: unknown field`
        : `${path}: ${msg.replace(new RegExp(`^(each value in )?${e.property}\\s*`), '$1')}`,
    );
    return [...own, ...describe(e.children ?? [], path)];
  });
}

/**
 * The global pipe with the compiled fast path: a `@CompiledValidation()` body that its ajv schema
 * accepts becomes its DTO instance without class-validator; any other value goes through
 * ValidationPipe as before (so every refusal, and its message, is class-validator's).
 */
class TollgateValidationPipe extends ValidationPipe {
  constructor(options: ValidationPipeOptions) {
    super(options);
    // compiled at start-up (the app's modules are loaded when the global pipe is made)
    for (const dto of compiledValidationDtos()) compiledValidator(dto, 'forbid');
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const metatype = metadata.metatype as (new () => object) | undefined;
    if (metadata.type === 'body' && metatype && this.toValidate(metadata)) {
      const fast = compiledValidator(metatype, 'forbid')?.check(value);
      if (fast) return fast;
    }
    return super.transform(value, metadata);
  }
}

/** Body fields are validated strictly (no coercion); unknown fields are refused by name. */
export function tollgateValidationPipe(): ValidationPipe {
  return new TollgateValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) =>
      new TollgateError('VALIDATION_ERROR', describe(errors).join('; ')),
  });
}
