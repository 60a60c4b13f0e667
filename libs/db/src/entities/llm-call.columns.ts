import { getMetadataArgsStorage } from 'typeorm';
import { LlmCall } from './llm-call.entity';

/**
 * The llm_calls row has ONE definition, the LlmCall entity: its TypeScript type under the column
 * names and its SQL column list are derived here, so adding a column is one line in the entity
 * (plus its migration), and the call records, the INSERT and the row types follow.
 */
type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

/** An llm_calls row under its column names, with the entity's types. */
export type LlmCallColumns = {
  [K in keyof LlmCall as K extends 'job' ? never : SnakeCase<K & string>]-?: LlmCall[K];
};

/** Columns node-postgres returns as text (numeric, bigint): keep in step with the entity. */
export type LlmCallTextColumns =
  | 'provider_cost_usd'
  | 'client_cost_usd'
  | 'input_price_per_million'
  | 'output_price_per_million'
  | 'credits_charged';

/** An llm_calls row as a raw query returns it. */
export type LlmCallRow = {
  [K in keyof LlmCallColumns]: K extends LlmCallTextColumns
    ? Exclude<LlmCallColumns[K], number> | string
    : LlmCallColumns[K];
};

export interface LlmCallColumn {
  name: keyof LlmCallColumns;
  /** Its SQL type, e.g. for jsonb_to_recordset. */
  type: string;
  /** What an absent value becomes on insert: the column's default when it is NOT NULL, else null. */
  fallback: string | null;
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The columns of llm_calls in entity order, read from the entity's decorators. */
export const LLM_CALL_COLUMNS: readonly LlmCallColumn[] = getMetadataArgsStorage()
  .columns.filter((c) => c.target === LlmCall)
  .map(({ propertyName, options }) => {
    const name = options.name ?? propertyName;
    if (name !== snakeCase(propertyName)) {
      throw new Error(`llm_calls: column ${name} must be the snake_case of ${propertyName}`);
    }
    const initial = options.default as string | number | boolean | (() => string) | undefined;
    const fallback =
      options.nullable || initial === undefined
        ? null
        : typeof initial === 'function'
          ? initial()
          : String(initial);
    return { name: name as keyof LlmCallColumns, type: String(options.type), fallback };
  });
