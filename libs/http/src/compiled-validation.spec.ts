import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Min,
  ValidateBy,
  ValidateNested,
  validate,
} from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { CompiledValidation, compiledValidator, ValidateByWithSchema } from './compiled-validation';
import { OptionalNotNull } from './validation';

// What the generator refuses to express: each of these DTOs must get no compiled check at all.

@CompiledValidation()
class WithUuid {
  @IsUUID()
  id!: string;
}

@CompiledValidation()
class WithTransform {
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  name!: string;
}

@CompiledValidation()
class WithCustomWithoutSchema {
  @ValidateBy({ name: 'isEven', validator: { validate: (v: unknown) => v === 2 } })
  n!: number;
}

@CompiledValidation()
class WithGroups {
  @IsInt({ groups: ['a'] })
  n!: number;
}

class Inner {
  @IsUUID()
  id!: string;
}

@CompiledValidation()
class WithUnsupportedNested {
  @ValidateNested()
  @Type(() => Inner)
  inner!: Inner;
}

class NotMarked {
  @IsInt()
  n!: number;
}

// What it expresses.

@CompiledValidation()
class Expressed {
  @OptionalNotNull()
  @IsInt()
  @Min(1)
  count?: number;

  @IsOptional()
  @IsString({ each: true })
  tags?: string | string[];

  @IsString()
  @Length(2, 3)
  code!: string;

  @ValidateByWithSchema(
    { name: 'isTwo', validator: { validate: (v: unknown) => v === 2 } },
    { const: 2 },
  )
  two!: number;
}

async function classValidatorAccepts(value: object): Promise<boolean> {
  const errors = await validate(plainToInstance(Expressed, value), {
    whitelist: true,
    forbidNonWhitelisted: true,
  });
  return errors.length === 0;
}

describe('compiledValidator', () => {
  it.each([
    ['a constraint without a schema (IsUUID)', WithUuid],
    ['@Transform', WithTransform],
    ['a custom validator without a schema', WithCustomWithoutSchema],
    ['validation groups', WithGroups],
    ['a nested DTO with an unsupported constraint', WithUnsupportedNested],
    ['a DTO not marked @CompiledValidation()', NotMarked],
  ])('leaves a DTO with %s to class-validator', (_what, dto: new () => object) => {
    expect(compiledValidator(dto, 'forbid')).toBeUndefined();
    expect(compiledValidator(dto, 'strip')).toBeUndefined();
  });

  it.each<[string, object, boolean]>([
    ['every field', { count: 1, tags: ['a'], code: 'ab', two: 2 }, true],
    [
      'a string where each item is checked (class-validator checks it as it is)',
      { tags: 'x', code: 'abc', two: 2 },
      true,
    ],
    ['count omitted (OptionalNotNull)', { code: 'ab', two: 2 }, true],
    ['count null (OptionalNotNull refuses null)', { count: null, code: 'ab', two: 2 }, false],
    ['tags null (IsOptional)', { tags: null, code: 'ab', two: 2 }, true],
    ['an item of the wrong type', { tags: ['a', 1], code: 'ab', two: 2 }, false],
    ['count below the minimum', { count: 0, code: 'ab', two: 2 }, false],
    ['count not an integer', { count: 1.5, code: 'ab', two: 2 }, false],
    ['a code too long', { code: 'abcd', two: 2 }, false],
    ['a code of 2 characters and a variation selector', { code: 'a\uFE0Fb', two: 2 }, true],
    ['an emoji pair as one character', { code: '\uD83D\uDE00\uD83D\uDE00', two: 2 }, true],
    ['the custom constraint failing', { code: 'ab', two: 3 }, false],
    ['an unknown field', { code: 'ab', two: 2, other: 1 }, false],
    ['a required field missing', { two: 2 }, false],
  ])('%s: ajv agrees with class-validator', async (_what, body, ok) => {
    const compiled = compiledValidator(Expressed, 'forbid');
    expect(compiled).toBeDefined();
    expect(await classValidatorAccepts(body)).toBe(ok);
    // refusing more than class-validator would only cost speed; accepting more would be a hole
    const accepted = compiled!.check(body) !== undefined;
    expect(accepted).toBe(ok);
  });

  it('hands anything with a prototype-shaped key to class-validator', () => {
    const compiled = compiledValidator(Expressed, 'strip')!;
    const body = JSON.parse('{"code":"ab","two":2,"__proto__":{"x":1}}') as object;
    expect(compiled.check(body)).toBeUndefined();
    expect(compiled.check({ code: 'ab', two: 2, constructor: 1 })).toBeUndefined();
    expect(compiled.check({ code: 'ab', two: 2, toString: 1 })).toBeUndefined();
    expect(compiled.check({ code: 'ab', two: 2 })).toBeInstanceOf(Expressed);
  });

  it('drops unknown fields in strip mode and keeps them in open mode', () => {
    const body = { code: 'ab', two: 2, other: { a: 1 } };
    expect(compiledValidator(Expressed, 'strip')!.check(body)).not.toHaveProperty('other');
    expect(compiledValidator(Expressed, 'open')!.check(body)).toHaveProperty('other', { a: 1 });
    expect(compiledValidator(Expressed, 'forbid')!.check(body)).toBeUndefined();
  });
});
