import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { LlmCallDto } from '../../calls/dto/llm-call.dto';
import { CompiledValidation } from '@app/http';

export class StreamOptionsDto {
  /** Send a last chunk with the usage of the whole request (the gateway meters regardless). */
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

/**
 * OpenAI's chat-completions request. Parameters the gateway does not forward (seed, penalties,
 * logit_bias, logprobs, store…) are type-checked and ignored; fields OpenAI does not define are
 * dropped, because clients such as Open WebUI send extras.
 */
@CompiledValidation()
export class ChatCompletionRequestDto extends LlmCallDto {
  /** Preferred over max_tokens when both are given. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_completion_tokens?: number;

  /** Only 1 choice is supported. */
  @IsOptional()
  @IsInt()
  @IsIn([1], { message: 'only 1 is supported' })
  n?: number;

  /** Answer as Server-Sent Events (chat.completion.chunk objects, then `data: [DONE]`). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  /** Stored with the call (and on the one-call job). */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  logprobs?: boolean;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20)
  top_logprobs?: number;

  @IsOptional()
  @IsBoolean()
  store?: boolean;

  @IsOptional()
  @IsString()
  service_tier?: string;

  @IsOptional()
  @IsString()
  reasoning_effort?: string;

  @IsOptional()
  @IsString()
  verbosity?: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  modalities?: string[];

  @IsOptional()
  @IsObject()
  audio?: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  prediction?: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  web_search_options?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  prompt_cache_key?: string;

  @IsOptional()
  @IsString()
  safety_identifier?: string;
}
