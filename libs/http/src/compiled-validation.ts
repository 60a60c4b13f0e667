import Ajv, { type SchemaObject, type ValidateFunction } from 'ajv';
import {
  getMetadataStorage,
  length,
  ValidateBy,
  ValidationTypes,
  type ValidationOptions,
} from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/**
 * The fast path of request validation: a JSON Schema derived once per DTO from its class-validator
 * decorators, compiled with ajv, and a cheap copy of the body into DTO instances.
 *
 * The schema is never weaker than the decorators: a DTO with any constraint this file cannot
 * express exactly (a custom validator without a schema, groups, `@Transform`, `@Expose`, a
 * `ValidateIf` other than `OptionalNotNull`…) gets no schema and is always validated by
 * class-validator. When ajv accepts a body, class-validator would accept it too and the copy is the
 * value `plainToInstance` would have produced; when ajv refuses it (or the copy meets anything
 * unusual: a key of `Object.prototype`, an array with holes, a non-plain object), the caller runs
 * today's class-validator path, so error messages are the ones it always gave.
 * `compiled-validation.spec.ts` checks both claims with random and mutated bodies per covered DTO.
 */

type Ctor = new () => object;

/** class-transformer's metadata (not part of its typed public face; read only). */
interface TransformerStorage {
  findTypeMetadata(
    target: unknown,
    property: string,
  ): { typeFunction?: () => unknown; options?: { discriminator?: unknown } } | undefined;
  getStrategy(target: unknown): string;
  _transformMetadatas?: Map<unknown, unknown>;
  _exposeMetadatas?: Map<unknown, unknown>;
  _excludeMetadatas?: Map<unknown, unknown>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerStorage;
};

/** How the caller's class-validator options treat properties without decorators. */
export type WhitelistMode =
  /** `whitelist + forbidNonWhitelisted`: an unknown property is an error. */
  | 'forbid'
  /** `whitelist` alone: unknown properties are dropped from the instance. */
  | 'strip'
  /** no whitelist: unknown properties are kept. */
  | 'open';

/** The value `OptionalNotNull` tests; recognised by identity (see validation.ts). */
export const isNotUndefined = (_object: object, value: unknown): boolean => value !== undefined;

const covered = new Set<Ctor>();

/**
 * Marks a request DTO for the compiled fast path (its nested DTOs come with it). Only marked DTOs
 * take it, so each has its differential test (compiled-validation.spec.ts lists them).
 */
export function CompiledValidation(): ClassDecorator {
  return (target) => {
    covered.add(target as unknown as Ctor);
  };
}

/** The DTOs marked with `@CompiledValidation()` (for the differential test). */
export function compiledValidationDtos(): Ctor[] {
  return [...covered];
}

const customSchemas = new WeakMap<object, SchemaObject>();

/**
 * `ValidateBy` with the JSON Schema that says the same: a custom constraint without one makes its
 * DTO fall back to class-validator. The differential test checks that the two agree.
 */
export function ValidateByWithSchema(
  options: Parameters<typeof ValidateBy>[0],
  schema: SchemaObject,
  validationOptions?: ValidationOptions,
): PropertyDecorator {
  const decorate = ValidateBy(options, validationOptions);
  return (target, propertyKey) => {
    decorate(target, propertyKey);
    const storage = getMetadataStorage() as unknown as {
      validationMetadatas: Map<unknown, ValidationMetadata[]>;
    };
    const metas = storage.validationMetadatas.get(target.constructor) ?? [];
    const added = metas[metas.length - 1];
    if (added?.propertyName === propertyKey && added.name === options.name) {
      customSchemas.set(added.constraintCls, schema);
    }
  };
}

/**
 * A string, or a value `other` accepts: `what` names it in the 400 message ("must be a string or
 * …"), `otherSchema` says the same in JSON Schema for the compiled path.
 */
export const IsStringOr = (
  name: string,
  other: (value: unknown) => boolean,
  what: string,
  otherSchema: SchemaObject,
): PropertyDecorator =>
  ValidateByWithSchema(
    {
      name,
      validator: {
        validate: (value: unknown) => typeof value === 'string' || other(value),
        defaultMessage: () => `must be a string or ${what}`,
      },
    },
    { anyOf: [{ type: 'string' }, otherSchema] },
  );

class Unsupported extends Error {}

const isPrimitive = (v: unknown) =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** The schema of one class-validator constraint, or Unsupported. */
function constraintSchema(m: ValidationMetadata): SchemaObject {
  const custom = customSchemas.get(m.constraintCls);
  if (custom) return custom;
  const c = (m.constraints ?? []) as unknown[];
  const num = (i: number) => {
    if (typeof c[i] !== 'number' || !Number.isFinite(c[i])) throw new Unsupported();
    return c[i];
  };
  switch (m.name) {
    case 'isString':
      return { type: 'string' };
    case 'isBoolean':
      return { type: 'boolean' };
    case 'isArray':
      return { type: 'array' };
    case 'isObject':
      return { type: 'object' };
    case 'isInt':
      return { type: 'integer' };
    case 'isNumber': {
      // JSON has no NaN nor Infinity; maxDecimalPlaces is not expressed here.
      const opts = (c[0] ?? {}) as Record<string, unknown>;
      if (Object.keys(opts).some((k) => k !== 'allowNaN' && k !== 'allowInfinity')) {
        throw new Unsupported();
      }
      return { type: 'number' };
    }
    case 'min':
      return { type: 'number', minimum: num(0) };
    case 'max':
      return { type: 'number', maximum: num(0) };
    case 'isIn':
      if (!Array.isArray(c[0]) || !c[0].every(isPrimitive)) throw new Unsupported();
      return { enum: c[0] };
    case 'equals':
      if (!isPrimitive(c[0])) throw new Unsupported();
      return { const: c[0] };
    // class-validator counts length as validator.js does (variation selectors do not count):
    // the keyword calls class-validator's own function.
    case 'isLength':
      return { type: 'string', cvLength: [num(0), c[1] === undefined ? undefined : num(1)] };
    case 'maxLength':
      return { type: 'string', cvLength: [0, num(0)] };
    case 'minLength':
      return { type: 'string', cvLength: [num(0), undefined] };
    case 'arrayMinSize':
      return { type: 'array', minItems: num(0) };
    case 'arrayMaxSize':
      return { type: 'array', maxItems: num(0) };
    case undefined:
    default:
      throw new Unsupported();
  }
}

/** `each: true` checks each item of an array, and a value that is not an array as it is. */
const eachOf = (s: SchemaObject): SchemaObject => ({
  if: { type: 'array' },
  then: { items: s },
  else: s,
});

interface Plan {
  id: string;
  cls: Ctor;
  mode: WhitelistMode;
  /** Properties with validation metadata; a nested plan for `@ValidateNested() @Type(() => X)`. */
  props: Map<string, { nested?: Plan }>;
}

const PLAIN_DESIGN_TYPES = new Set<unknown>([undefined, Object, Array, String, Number, Boolean]);

function hasTransformerMetadata(cls: Ctor): boolean {
  const s = defaultMetadataStorage;
  const maps = [s._transformMetadatas, s._exposeMetadatas, s._excludeMetadatas];
  if (!maps.every((m) => m instanceof Map)) return true; // another class-transformer version
  for (let c: unknown = cls; typeof c === 'function' && c !== Function.prototype;) {
    if (maps.some((m) => m?.has(c))) return true;
    c = Object.getPrototypeOf(c);
  }
  return defaultMetadataStorage.getStrategy(cls) !== 'none';
}

/** Builds the schema of `cls` into `defs` and its plan; throws Unsupported. */
function planOf(
  cls: Ctor,
  mode: WhitelistMode,
  defs: Record<string, SchemaObject>,
  plans: Map<Ctor, Plan>,
): Plan {
  const known = plans.get(cls);
  if (known) return known;
  if (hasTransformerMetadata(cls)) throw new Unsupported();
  const plan: Plan = { id: `d${plans.size + 1}`, cls, mode, props: new Map() };
  plans.set(cls, plan);

  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false);
  if (metas.length === 0) throw new Unsupported(); // forbidUnknownValues would refuse it
  const byProp = getMetadataStorage().groupByPropertyName(metas);
  const properties: Record<string, SchemaObject> = {};
  const required: string[] = [];
  for (const [prop, list] of Object.entries(byProp)) {
    if (prop in cls.prototype) throw new Unsupported(); // a getter or method of the class
    const designType: unknown = Reflect.getMetadata('design:type', cls.prototype as object, prop);
    let optional: 'no' | 'nullable' | 'undefined' = 'no';
    let nested: Plan | undefined;
    const all: SchemaObject[] = [];
    for (const m of list) {
      if (m.groups?.length) throw new Unsupported();
      switch (m.type) {
        case ValidationTypes.CONDITIONAL_VALIDATION: {
          const fn = m.constraints?.[0] as unknown;
          if (m.name === 'isOptional') optional = optional === 'no' ? 'nullable' : optional;
          else if (fn === isNotUndefined) optional = 'undefined';
          else throw new Unsupported();
          if (list.filter((x) => x.type === m.type).length > 1) throw new Unsupported();
          break;
        }
        case ValidationTypes.NESTED_VALIDATION: {
          const type = defaultMetadataStorage.findTypeMetadata(cls, prop);
          if (!type?.typeFunction || type.options?.discriminator) throw new Unsupported();
          const target = type.typeFunction() as Ctor;
          if (typeof target !== 'function') throw new Unsupported();
          nested = planOf(target, mode, defs, plans);
          if (![undefined, Object, Array, target].includes(designType as Ctor)) {
            throw new Unsupported(); // a Set or Map of nested DTOs
          }
          const ref = { $ref: `#/definitions/${nested.id}` };
          all.push({ anyOf: [{ type: 'array', items: ref }, ref] });
          break;
        }
        case ValidationTypes.WHITELIST:
          break;
        case ValidationTypes.CUSTOM_VALIDATION: {
          const s = constraintSchema(m);
          all.push(m.each ? eachOf(s) : s);
          break;
        }
        default:
          throw new Unsupported();
      }
    }
    if (!nested) {
      // plainToInstance would build an instance of a `@Type` without `@ValidateNested`, and a
      // Set or Map design type changes the copy of an array.
      if (defaultMetadataStorage.findTypeMetadata(cls, prop)) throw new Unsupported();
      if (!PLAIN_DESIGN_TYPES.has(designType)) throw new Unsupported();
    }
    const own: SchemaObject = all.length === 1 ? all[0] : { allOf: all };
    properties[prop] = optional === 'nullable' ? { anyOf: [{ type: 'null' }, own] } : own;
    if (optional === 'no') required.push(prop);
    plan.props.set(prop, { nested });
  }
  defs[plan.id] = {
    type: 'object',
    properties,
    required,
    ...(mode === 'forbid' ? { additionalProperties: false } : {}),
  };
  return plan;
}

const BAIL = Symbol('bail');
/** A built value, or BAIL (unknown already includes the symbol; the name says what it means). */
type Built = unknown;

/**
 * Keys some step of the class-validator path treats apart: class-transformer skips `__proto__` and
 * `constructor` and any key of Object.prototype, Nest's ValidationPipe deletes `prototype`.
 */
const isSpecialKey = (k: string) => k in Object.prototype || k === 'prototype';

/** A copy of a JSON value as plainToInstance makes it, or BAIL for anything it might treat apart. */
function copyPlain(v: unknown): Built {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) return BAIL;
      const c = copyPlain(v[i]);
      if (c === BAIL) return BAIL;
      out.push(c);
    }
    return out;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return BAIL;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    if (isSpecialKey(k)) return BAIL;
    const c = copyPlain((v as Record<string, unknown>)[k]);
    if (c === BAIL) return BAIL;
    out[k] = c;
  }
  return out;
}

function build(plan: Plan, v: unknown): Built {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) {
    return BAIL;
  }
  const inst = new plan.cls() as Record<string, unknown>;
  const proto = plan.cls.prototype as object;
  for (const k of Object.keys(v)) {
    if (k in proto || isSpecialKey(k)) return BAIL; // and the class's own methods
    const value = (v as Record<string, unknown>)[k];
    const prop = plan.props.get(k);
    if (prop?.nested && value !== null) {
      const nested = prop.nested;
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return BAIL;
          const b = build(nested, value[i]);
          if (b === BAIL) return BAIL;
          out.push(b);
        }
        inst[k] = out;
      } else {
        const b = build(nested, value);
        if (b === BAIL) return BAIL;
        inst[k] = b;
      }
      continue;
    }
    const c = copyPlain(value);
    if (c === BAIL) return BAIL;
    if (prop || plan.mode === 'open') inst[k] = c;
  }
  return inst;
}

let ajv: Ajv | undefined;
function sharedAjv(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
    ajv.addKeyword({
      keyword: 'cvLength',
      type: 'string',
      schemaType: 'array',
      validate: (bounds: [number, number | undefined], data: string) =>
        length(data, bounds[0], bounds[1]),
    });
  }
  return ajv;
}

/** A DTO's compiled check: the instance class-validator would have accepted, or undefined. */
export interface CompiledValidator<T> {
  readonly schema: SchemaObject;
  /** The DTO instance when the body passes, else undefined (run class-validator then). */
  check(value: unknown): T | undefined;
}

const compiled = new Map<string, Map<Ctor, CompiledValidator<object> | null>>();

/**
 * The compiled check of a `@CompiledValidation()` DTO under the given whitelist mode, compiled on
 * first use and kept; undefined when the DTO is not marked or has a constraint the schema cannot
 * express (class-validator then validates it, as before).
 */
export function compiledValidator<T extends object>(
  cls: new (...args: never[]) => T,
  mode: WhitelistMode,
): CompiledValidator<T> | undefined {
  const ctor = cls as unknown as Ctor;
  let perMode = compiled.get(mode);
  if (!perMode) compiled.set(mode, (perMode = new Map<Ctor, CompiledValidator<object> | null>()));
  if (!perMode.has(ctor)) perMode.set(ctor, covered.has(ctor) ? compile(ctor, mode) : null);
  return (perMode.get(ctor) ?? undefined) as CompiledValidator<T> | undefined;
}

function compile(cls: Ctor, mode: WhitelistMode): CompiledValidator<object> | null {
  const definitions: Record<string, SchemaObject> = {};
  let plan: Plan;
  try {
    plan = planOf(cls, mode, definitions, new Map());
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
  const schema: SchemaObject = { definitions, $ref: `#/definitions/${plan.id}` };
  const validate: ValidateFunction = sharedAjv().compile(schema);
  return {
    schema,
    check(value: unknown) {
      if (!validate(value)) return undefined;
      const built = build(plan, value);
      return built === BAIL ? undefined : (built as object);
    },
  };
}
