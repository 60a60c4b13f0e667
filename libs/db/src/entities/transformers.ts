import { ValueTransformer } from 'typeorm';

/** Postgres bigint/numeric arrive as strings; the API promises JSON numbers. */
export const numeric: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
