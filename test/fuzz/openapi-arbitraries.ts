import fc from 'fast-check';

/**
 * fast-check arbitraries built from a committed OpenAPI document: every operation with its path,
 * query and header parameters and its JSON body, each either schema-valid (refs resolved, enum,
 * minimum/maximum, minLength/maxLength, minItems/maxItems, format and required honoured) or
 * schema-violating (wrong types, out-of-range and NaN-ish numbers, unicode edge cases, missing
 * required fields, unknown fields, non-object bodies, malformed JSON).
 */

export interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
}

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: OpenApiParameter[]; requestBody?: any }>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** The OpenAPI path template, e.g. `/api/teams/{team_id}`: the route of the summary. */
  path: string;
  params: Parameter[];
  body?: Schema;
}

/** Every operation of the document, with `$ref`s resolved (recursion cut at depth 8). */
export function operations(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = (op.parameters ?? [])
        .filter((p) => p.in !== 'cookie')
        .map((p) => ({
          name: p.name,
          in: p.in as Parameter['in'],
          required: p.required ?? p.in === 'path',
          schema: resolve(doc, p.schema ?? { type: 'string' }),
        }));
      const json = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
      ops.push({
        method: method.toUpperCase(),
        path,
        params,
        body: json ? resolve(doc, json) : undefined,
      });
    }
  }
  return ops;
}

export function resolve(doc: OpenApiDocument, schema: Schema, depth = 0): Schema {
  if (depth > 8) return { type: 'object' };
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${schema.$ref}`);
    return resolve(doc, target, depth + 1);
  }
  const out: Schema = { ...schema };
  if (schema.items) out.items = resolve(doc, schema.items, depth + 1);
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, resolve(doc, v, depth + 1)]),
    );
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    out.additionalProperties = resolve(doc, schema.additionalProperties, depth + 1);
  }
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (schema[key]) out[key] = schema[key].map((s) => resolve(doc, s, depth + 1));
  }
  if (out.allOf) {
    // merge: properties and required of every member
    for (const part of out.allOf) {
      out.type ??= part.type;
      out.properties = { ...out.properties, ...part.properties };
      out.required = [...(out.required ?? []), ...(part.required ?? [])];
    }
    delete out.allOf;
  }
  return out;
}

/** Strings that are valid UTF-8 text but unusual: RTL overrides, emoji, combining marks, BOM. */
export const UNICODE_EDGES = [
  '\u202eevil\u202c',
  '🧨💥👩‍👩‍👧‍👦',
  '\ufeffbom',
  'e\u0301\u0302\u0303\u0304',
  'ß',
  '\u2028\u2029',
  '\u00a0 \t\r\n',
  'Ωmega',
  '\uffff\ufffe',
  '𝕏'.repeat(300),
];

/** Text PostgreSQL cannot store: the input check must refuse it (400) before anything happens. */
export const UNSTORABLE = ['a\u0000b', '\udfff\ud800', '\ud800', 'x\udc00y'];

export const NAUGHTY_STRINGS = [
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e999',
  '0x10',
  ' 5 ',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  "' OR 1=1 --",
  '"; DROP TABLE teams; --',
  '../../etc/passwd',
  '%00',
  '%',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'a'.repeat(300),
  'a'.repeat(20_000),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999999999999',
  '2026-02-30T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  ...UNICODE_EDGES,
  ...UNSTORABLE,
];

export const NAUGHTY_NUMBERS = [
  0,
  -1,
  -0.5,
  0.5,
  1.5,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
  -(2 ** 63),
  1e21,
  1e300,
  -1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  -Number.MAX_SAFE_INTEGER,
];

const safeText = (min: number, max: number) =>
  fc.string({ unit: 'grapheme-ascii', minLength: min, maxLength: max });

/** What a field's value can be, by name: the fixtures' pools (ids that exist, models, …). */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

/** A schema-valid value. */
export function validValue(schema: Schema, hints: Hints = {}, depth = 0): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) return fc.oneof(...variants.map((s) => validValue(s, hints, depth + 1)));
  switch (schema.type ?? 'object') {
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -1_000_000;
      const max = schema.maximum ?? 1_000_000;
      const doubles = fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
      if (Math.ceil(min) > Math.floor(max)) return doubles;
      const ints = fc.integer({ min: Math.ceil(min), max: Math.floor(Math.min(max, 2 ** 52)) });
      // the documents say `number` for the DTOs' integers too: favour integers, keep some fractions
      return schema.type === 'integer'
        ? ints
        : fc.oneof({ weight: 4, arbitrary: ints }, { weight: 1, arbitrary: doubles });
    }
    case 'boolean':
      return fc.boolean();
    case 'string':
      return validString(schema);
    case 'array': {
      const items = validValue(schema.items ?? { type: 'string' }, hints, depth + 1);
      return fc.array(items, {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, Math.max(schema.minItems ?? 0, 4)),
      });
    }
    case 'object':
    default:
      if (!schema.properties) return depth > 2 ? fc.constant({}) : jsonObject();
      return validObject(schema, hints, depth);
  }
}

function validString(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, Math.max(min, 40));
  switch (schema.format ?? 'text') {
    case 'uuid':
      return fc.uuid();
    case 'date-time':
      return fc
        .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
    case 'date':
      return fc
        .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case 'uri':
    case 'url':
      return fc.webUrl();
    default:
      return fc.oneof(
        { weight: 4, arbitrary: safeText(Math.max(min, 1), max) },
        { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: max }) },
      );
  }
}

function validObject(schema: Schema, hints: Hints, depth: number): fc.Arbitrary<unknown> {
  const required = new Set(schema.required ?? []);
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    fields[name] = hints[name] ?? validValue(prop, hints, depth + 1);
  }
  return fc.record(fields, { requiredKeys: [...required].filter((k) => k in fields) });
}

/** Free-form JSON objects (metadata and the like), a few levels deep. */
export const jsonObject = (): fc.Arbitrary<Record<string, unknown>> =>
  fc.dictionary(
    fc.oneof(
      { weight: 20, arbitrary: safeText(1, 12) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('constructor', '__proto__', 'prototype', 'toString'),
      },
    ),
    fc.oneof(
      safeText(0, 20),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(safeText(1, 6), safeText(0, 6), { maxKeys: 2 }),
    ),
    { maxKeys: 4 },
  );

/** A value of any JSON type, odd ones favoured: the wrong type for most fields. */
export const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NAUGHTY_STRINGS),
  fc.constantFrom(...NAUGHTY_NUMBERS),
  fc.constantFrom(
    null,
    true,
    false,
    [],
    {},
    [null],
    { $gt: '' },
    JSON.parse('{"__proto__":{"a":1}}') as unknown,
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.double(),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 4 }),
);

/** A schema-violating value for a field of `schema` (out of range, wrong type, bad text). */
export function hostileValue(schema: Schema): fc.Arbitrary<unknown> {
  const edges: unknown[] = [];
  if (schema.minimum !== undefined) edges.push(schema.minimum - 1, schema.minimum - 1e-9);
  if (schema.maximum !== undefined) edges.push(schema.maximum + 1, schema.maximum * 10);
  if (schema.maxLength !== undefined) edges.push('x'.repeat(schema.maxLength + 1));
  if (schema.minLength) edges.push('');
  if (schema.maxItems !== undefined) edges.push(new Array(schema.maxItems + 1).fill('x'));
  if (schema.enum) edges.push(`${String(schema.enum[0])}x`, String(schema.enum[0]).toUpperCase());
  if (schema.type === 'number' || schema.type === 'integer') {
    edges.push('5', String(schema.minimum ?? 1), 1.5);
  }
  return edges.length
    ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...edges) }, hostileScalar)
    : hostileScalar;
}

export type BodyCase =
  { kind: 'json'; valid: boolean; value: unknown } | { kind: 'raw'; valid: false; raw: string };

const RAW_BODIES = [
  '{',
  '{"a":}',
  '[1,2',
  'null',
  '"str"',
  '12',
  'true',
  '{"a":1}{"b":2}',
  '\ufeff{}',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"a":' + '['.repeat(65) + ']'.repeat(65) + '}',
  '{"a":' + '{"b":'.repeat(100) + '1' + '}'.repeat(101),
  '{"x":1e99999}',
  '{"x":-}',
];

/** A request body: valid for the schema (half the time), or mutated by one of several strategies. */
export function bodyArb(schema: Schema, hints: Hints): fc.Arbitrary<BodyCase> {
  const valid = fc.oneof(validValue(schema, hints), minimalValid(schema, hints));
  const props = Object.entries(schema.properties ?? {});
  const mutants: Array<fc.Arbitrary<BodyCase>> = [
    fc.constantFrom(...RAW_BODIES).map((raw): BodyCase => ({ kind: 'raw', valid: false, raw })),
    hostileScalar.map((value): BodyCase => ({ kind: 'json', valid: false, value })),
    fc
      .tuple(valid, fc.constantFrom('unknown_field', 'credits_used', 'status', 'team_id', 'id'))
      .chain(([v, field]) =>
        hostileScalar.map((x): BodyCase => ({
          kind: 'json',
          valid: false,
          value: { ...asObject(v), [field]: x },
        })),
      ),
  ];
  if (props.length) {
    mutants.push(
      fc.tuple(valid, fc.nat(), fc.nat()).chain(([v, i, j]) => {
        const [name, prop] = props[i % props.length];
        const second = props[j % props.length];
        return fc.tuple(hostileValue(prop), hostileValue(second[1])).map(([x, y]): BodyCase => {
          const value = { ...asObject(v), [name]: x };
          if (j % 3 === 0) value[second[0]] = y;
          return { kind: 'json', valid: false, value };
        });
      }),
    );
  }
  if (schema.required?.length) {
    const required = schema.required;
    mutants.push(
      fc.tuple(valid, fc.nat()).map(([v, i]): BodyCase => {
        const value = { ...asObject(v) };
        delete value[required[i % required.length]];
        return { kind: 'json', valid: false, value };
      }),
    );
  }
  return fc.oneof(
    {
      weight: 5,
      arbitrary: valid.map((value): BodyCase => ({ kind: 'json', valid: true, value })),
    },
    { weight: 5, arbitrary: fc.oneof(...mutants) },
  );
}

/** Required fields plus the hinted ones (the fields whose meaning the fixtures know). */
function minimalValid(schema: Schema, hints: Hints): fc.Arbitrary<unknown> {
  if (!schema.properties) return validValue(schema, hints);
  const required = schema.required ?? [];
  const properties = Object.fromEntries(
    Object.entries(schema.properties).filter(([k]) => required.includes(k) || k in hints),
  );
  return validObject({ ...schema, properties }, hints, 0);
}

const asObject = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};

/** A query or header value, as sent on the wire (a string; arrays repeat the parameter). */
export function paramValue(param: Parameter, hints: Hints): fc.Arbitrary<string | string[]> {
  const hint = hints[param.name] as fc.Arbitrary<string> | undefined;
  const valid = (hint ?? validValue(param.schema, hints)).map(String);
  const hostile = fc.oneof(
    fc.constantFrom(...NAUGHTY_STRINGS.filter((s) => !UNSTORABLE.includes(s))),
    hostileValue(param.schema).map((v) =>
      typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'),
    ),
    fc.array(valid, { minLength: 2, maxLength: 3 }),
  );
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostile });
}

/** Percent-encodes a path or query value; text that cannot be encoded as UTF-8 is sent raw-escaped. */
export function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // a lone surrogate: send invalid UTF-8 bytes instead
    return value.replace(/[\ud800-\udfff]/g, '%ED%A0%80').replace(/[^%\w.-]/g, (c) => {
      try {
        return encodeURIComponent(c);
      } catch {
        return '%ED%A0%80';
      }
    });
  }
}
