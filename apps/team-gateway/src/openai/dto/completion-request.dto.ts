import { ApiProperty, ApiPropertyOptional, IntersectionType, PickType } from '@nestjs/swagger';
import { Equals, IsInt, IsIn, IsOptional, IsString } from 'class-validator';
import { CompiledValidation, ValidateByWithSchema } from '@app/http';
import { LlmCallDto } from '../../calls/dto/llm-call.dto';
import { ChatCompletionRequestDto } from './chat-completion-request.dto';

const onePrompt = (v: unknown) =>
  (typeof v === 'string' && v.length > 0) ||
  (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' && v[0].length > 0);

/**
 * OpenAI's legacy completions request (`POST /v1/completions`), for OpenAI-style deployments.
 * One prompt (a string, or an array of one string); fields OpenAI does not define are dropped.
 * The sampling fields and their bounds are the chat call's (LlmCallDto, ChatCompletionRequestDto).
 */
@CompiledValidation()
export class CompletionRequestDto extends IntersectionType(
  PickType(LlmCallDto, [
    'model',
    'max_tokens',
    'temperature',
    'top_p',
    'stop',
    'seed',
    'presence_penalty',
    'frequency_penalty',
    'logit_bias',
    'user',
  ] as const),
  PickType(ChatCompletionRequestDto, ['stream', 'stream_options', 'n'] as const),
) {
  /** The text to continue: a string, or an array holding one string. */
  @ApiProperty({
    oneOf: [
      { type: 'string' },
      { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 },
    ],
    example: 'Say this is a test',
  })
  @ValidateByWithSchema(
    {
      name: 'isPrompt',
      validator: {
        validate: onePrompt,
        defaultMessage: () => 'must be a non-empty string or an array of one string',
      },
    },
    {
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'array', minItems: 1, maxItems: 1, items: { type: 'string', minLength: 1 } },
      ],
    },
  )
  prompt!: string | string[];

  /** Text after the completion (passed to the upstream). */
  @IsOptional()
  @IsString()
  suffix?: string;

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

  // what the documents say of the shared fields on this route (their checks are the chat call's)
  @ApiProperty({ example: 'gpt-3.5-turbo-instruct' })
  declare model: string;

  @ApiPropertyOptional({ description: "Default 16, as OpenAI's." })
  declare max_tokens?: number;

  @ApiPropertyOptional({
    description: 'Answer as Server-Sent Events (text_completion chunks, then `data: [DONE]`).',
  })
  declare stream?: boolean;
}
