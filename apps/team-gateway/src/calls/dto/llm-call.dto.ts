import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
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
  ValidateNested,
} from 'class-validator';
import { CompiledValidation, IsStringOr } from '@app/http';
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../../providers/provider.types';

const MAX_STOP_SEQUENCES = 4;
const isStopArray = (v: unknown) =>
  Array.isArray(v) && v.length <= MAX_STOP_SEQUENCES && v.every((s) => typeof s === 'string');
const isObjectArray = (v: unknown) =>
  Array.isArray(v) && v.every((p) => typeof p === 'object' && p !== null);
const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ChatMessageDto implements ChatMessage {
  @IsIn(['system', 'developer', 'user', 'assistant', 'tool'])
  role!: ChatMessage['role'];

  /** Text, or an array of content parts; null for an assistant message with tool calls only. */
  @IsOptional()
  @IsStringOr('isContent', isObjectArray, 'an array of content parts', {
    type: 'array',
    items: { type: ['object', 'array'] },
  })
  content!: string | ContentPart[] | null;

  @IsOptional()
  @IsString()
  name?: string;

  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  tool_calls?: ToolCall[];

  @IsOptional()
  @IsString()
  tool_call_id?: string;
}

/** The body of an LLM call (OpenAI chat-completions options). */
@CompiledValidation()
export class LlmCallDto {
  /** A model name or a model-group name the key may use. */
  @IsString()
  @Length(1, 255)
  model!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  /** Free-text label stored on the call record. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  purpose?: string;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_tokens?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  /** Up to 4 stop sequences. */
  @ApiProperty({
    required: false,
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' }, maxItems: MAX_STOP_SEQUENCES },
    ],
  })
  @IsOptional()
  @IsStringOr('isStop', isStopArray, `an array of up to ${MAX_STOP_SEQUENCES} strings`, {
    type: 'array',
    maxItems: MAX_STOP_SEQUENCES,
    items: { type: 'string' },
  })
  stop?: string | string[];

  @IsOptional()
  @IsObject()
  response_format?: Record<string, unknown>;

  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  tools?: ToolDefinition[];

  /** "none" | "auto" | "required" | {type: "function", function: {name}}. */
  @IsOptional()
  @IsStringOr('isToolChoice', isObject, 'an object', { type: 'object' })
  tool_choice?: ToolChoice;

  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean;

  /** Best-effort determinism, for providers that support it. */
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

  /** Token id → bias from -100 to 100 (OpenAI-style providers only). */
  @IsOptional()
  @IsObject()
  logit_bias?: Record<string, number>;

  /**
   * The end user, passed on to the provider (OpenAI `user`, Anthropic `metadata.user_id`); on
   * /v1 also the user_id of the one-call job. Longer than 255 characters is cut.
   */
  @IsOptional()
  @IsString()
  user?: string;

  /** Stored on the call record. */
  @IsOptional()
  @IsObject()
  call_metadata?: Record<string, unknown>;
}

/**
 * A call as a surface hands it to the pipeline: the validated body and, from /v1/messages only,
 * the client's own Messages body (see ChatRequest.anthropicPassthrough). An interface, not a DTO field:
 * no request body can set it (the strict pipes refuse or drop it) and the docs do not show it.
 */
export interface LlmCallBody extends LlmCallDto {
  anthropicPassthrough?: ChatRequest['anthropicPassthrough'];
}
