import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { CompiledValidation, ValidateByWithSchema } from '@app/http';

/** Items one embeddings request may carry (OpenAI's limit). */
export const MAX_EMBEDDING_INPUTS = 2048;

const isTokens = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && (t as number) >= 0);

/** A non-empty string, a non-empty array of non-empty strings, a token array, or arrays of those. */
export function isEmbeddingInput(v: unknown): boolean {
  if (typeof v === 'string') return v.length > 0;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_EMBEDDING_INPUTS) return false;
  if (isTokens(v)) return true;
  return (
    v.every((s) => typeof s === 'string' && s.length > 0) || v.every((t: unknown) => isTokens(t))
  );
}

const TOKENS = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } };

/** OpenAI's embeddings request. Fields OpenAI does not define are dropped. */
@CompiledValidation()
export class EmbeddingsRequestDto {
  /** @example "text-embedding-3-small" */
  @IsString()
  @Length(1, 255)
  model!: string;

  /** Text, an array of texts, an array of token ids, or an array of token-id arrays (up to 2048 items). */
  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' } },
      { type: 'array', items: { type: 'integer' } },
      { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
    ],
    example: 'The food was delicious',
  })
  @ValidateByWithSchema(
    {
      name: 'isEmbeddingInput',
      validator: {
        validate: isEmbeddingInput,
        defaultMessage: () =>
          `must be a non-empty string, an array of up to ${MAX_EMBEDDING_INPUTS} non-empty strings, or token arrays`,
      },
    },
    {
      anyOf: [
        { type: 'string', minLength: 1 },
        {
          type: 'array',
          minItems: 1,
          maxItems: MAX_EMBEDDING_INPUTS,
          anyOf: [TOKENS, { items: { type: 'string', minLength: 1 } }, { items: TOKENS }],
        },
      ],
    },
  )
  input!: string | string[] | number[] | number[][];

  /** `float` (default) or `base64` (little-endian float32). */
  @IsOptional()
  @IsIn(['float', 'base64'])
  encoding_format?: 'float' | 'base64';

  /** Output dimensions, for models that support them. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65_536)
  dimensions?: number;

  /** The end user, passed on for the provider's abuse monitoring (and the one-call job's user_id). */
  @IsOptional()
  @IsString()
  user?: string;
}
