import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsNumber,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
} from 'class-validator';
import { CompiledValidation, IsStringOr } from '@app/http';

const isObjectArray = (v: unknown) =>
  Array.isArray(v) && v.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p));
const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * OpenAI's Responses request (`POST /v1/responses`). The fields below are checked; any other
 * field is kept and sent as is to OpenAI deployments, and ignored when the request is translated
 * through chat completions for other providers. The gateway is stateless: nothing is stored,
 * `store` is answered as false, `previous_response_id`, `conversation` and `background` are
 * refused.
 */
@CompiledValidation()
export class CreateResponseDto {
  /** A model name or a model-group name the key may use. */
  @IsString()
  @Length(1, 255)
  model!: string;

  /** A user message as text, or input items (messages, function calls and their outputs). */
  @IsStringOr('isInput', isObjectArray, 'an array of input items', {
    type: 'array',
    items: { type: 'object' },
  })
  input!: string | Array<Record<string, unknown>>;

  /** A system (developer) message placed before the input. */
  @IsOptional()
  @IsString()
  instructions?: string | null;

  /** Function tools (`{type:"function", name, parameters}`); built-in tools only on OpenAI deployments. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(512)
  @IsObject({ each: true })
  tools?: Array<Record<string, unknown>>;

  /** "none" | "auto" | "required" | {type:"function", name}. */
  @IsOptional()
  @IsStringOr('isToolChoice', isObject, 'an object', { type: 'object' })
  tool_choice?: string | Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  max_output_tokens?: number | null;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number | null;

  /** `{format: {type: "text" | "json_object" | "json_schema", …}}`. */
  @IsOptional()
  @IsObject()
  text?: Record<string, unknown>;

  /** Sent to OpenAI deployments; dropped for chat-style providers. */
  @IsOptional()
  @IsObject()
  reasoning?: Record<string, unknown> | null;

  /** Accepted and ignored: nothing is stored, and the response says `store: false`. */
  @IsOptional()
  @IsBoolean()
  store?: boolean | null;

  /** Answer as Server-Sent Events (the Responses API's semantic events). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean | null;

  /** Refused: the gateway keeps no responses to continue from (send the whole input). */
  @IsOptional()
  @IsString()
  previous_response_id?: string | null;

  /** Stored with the call and on the one-call job. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;

  /** The end user, passed on to the provider and stored as the one-call job's user_id. */
  @IsOptional()
  @IsString()
  user?: string;
}
