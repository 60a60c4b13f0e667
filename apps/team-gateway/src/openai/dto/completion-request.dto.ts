import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Equals,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { StreamOptionsDto } from './chat-completion-request.dto';

const onePrompt = (v: unknown) =>
  (typeof v === 'string' && v.length > 0) ||
  (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' && v[0].length > 0);
const isStop = (v: unknown) =>
  typeof v === 'string' ||
  (Array.isArray(v) && v.length <= 4 && v.every((s) => typeof s === 'string'));

/**
 * OpenAI's legacy completions request (`POST /v1/completions`), for OpenAI-style deployments.
 * One prompt (a string, or an array of one string); fields OpenAI does not define are dropped.
 */
export class CompletionRequestDto {
  /** @example "gpt-3.5-turbo-instruct" */
  @IsString()
  @Length(1, 255)
  model!: string;

  /** The text to continue: a string, or an array holding one string. */
  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 },
    ],
    example: 'Say this is a test',
  })
  @ValidateBy({
    name: 'isPrompt',
    validator: {
      validate: onePrompt,
      defaultMessage: () => 'must be a non-empty string or an array of one string',
    },
  })
  prompt!: string | string[];

  /** Text after the completion (passed to the upstream). */
  @IsOptional()
  @IsString()
  suffix?: string;

  /** Default 16, as OpenAI's. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_tokens?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiProperty({
    required: false,
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }],
  })
  @IsOptional()
  @ValidateBy({
    name: 'isStop',
    validator: {
      validate: isStop,
      defaultMessage: () => 'must be a string or an array of up to 4 strings',
    },
  })
  stop?: string | string[];

  @IsOptional()
  @IsInt()
  seed?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  presence_penalty?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  frequency_penalty?: number;

  @IsOptional()
  @IsObject()
  logit_bias?: Record<string, number>;

  /** The end user, passed on for the provider's abuse monitoring (and the one-call job's user_id). */
  @IsOptional()
  @IsString()
  user?: string;

  /** Answer as Server-Sent Events (text_completion chunks, then `data: [DONE]`). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  /** Only 1 is supported. */
  @IsOptional()
  @IsInt()
  @IsIn([1], { message: 'only 1 is supported' })
  n?: number;

  /** Only 1 is supported. */
  @IsOptional()
  @IsInt()
  @IsIn([1], { message: 'only 1 is supported' })
  best_of?: number;

  /** Not supported (only false). */
  @IsOptional()
  @Equals(false, { message: 'echo is not supported' })
  echo?: boolean;

  /** Not supported (only null). */
  @ApiProperty({ required: false, nullable: true, type: 'integer' })
  @IsOptional()
  @Equals(null, { message: 'logprobs is not supported' })
  logprobs?: number | null;
}
