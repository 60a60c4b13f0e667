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

/** A content block: `{type, …}` (text, image, tool_use, tool_result, thinking, or newer kinds). */
export type ContentBlock = Record<string, unknown> & { type: string };

const isBlock = (v: unknown): v is ContentBlock =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  typeof (v as { type?: unknown }).type === 'string';

/** A string, or an array of content blocks (objects with a string `type`). */
const IsContent = (what = 'an array of content blocks') =>
  IsStringOr('isContent', (value) => Array.isArray(value) && value.every(isBlock), what, {
    type: 'array',
    items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
  });

export class MessageParamDto {
  /** `system` mid-conversation is what newer Claude Code versions send (a beta of Anthropic's). */
  @IsIn(['user', 'assistant', 'system'])
  role!: 'user' | 'assistant' | 'system';

  /** Text, or content blocks (text, image, tool_use, tool_result, thinking, …). */
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] })
  @IsContent()
  content!: string | ContentBlock[];
}

export class MessagesMetadataDto {
  /** The end user (passed on; also the one-call job's user_id). */
  @IsOptional()
  @IsString()
  user_id?: string | null;
}

/** What Messages and count_tokens requests share. */
export class MessagesBaseDto {
  /** A model name or a model-group name the key may use. */
  @IsString()
  @Length(1, 255)
  model!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => MessageParamDto)
  messages!: MessageParamDto[];

  /** A system prompt: text, or text blocks. */
  @ApiProperty({
    required: false,
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }],
  })
  @IsOptional()
  @IsContent('an array of text blocks')
  system?: string | ContentBlock[];

  /** Client tools `{name, description, input_schema}` (server tools only reach Anthropic). */
  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  tools?: Array<Record<string, unknown>>;

  /** `{type: "auto" | "any" | "none"}` or `{type: "tool", name}`. */
  @IsOptional()
  @IsObject()
  tool_choice?: Record<string, unknown>;

  /** Extended thinking: passed to Anthropic deployments, dropped for the others. */
  @IsOptional()
  @IsObject()
  thinking?: Record<string, unknown>;
}

/**
 * Anthropic's Messages request. Fields the gateway does not define are kept for Anthropic
 * deployments (pass-through) and dropped when the request is translated for the others.
 */
@CompiledValidation()
export class MessagesRequestDto extends MessagesBaseDto {
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_tokens!: number;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  stop_sequences?: string[];

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  temperature?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  /** Anthropic deployments only. */
  @IsOptional()
  @IsInt()
  @Min(0)
  top_k?: number;

  /** Answer with Anthropic's Server-Sent Events (message_start … message_stop). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MessagesMetadataDto)
  metadata?: MessagesMetadataDto;

  @IsOptional()
  @IsString()
  service_tier?: string;
}

/** Anthropic's count_tokens request (the Messages fields that make up the prompt). */
@CompiledValidation()
export class CountTokensRequestDto extends MessagesBaseDto {}
