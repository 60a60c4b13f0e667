/** Anthropic's `usage`: input_tokens excludes the cache reads and writes counted beside it. */
export class MessagesUsageDto {
  input_tokens!: number;
  output_tokens!: number;
  cache_creation_input_tokens!: number | null;
  cache_read_input_tokens!: number | null;
}

/** Anthropic's Message object (content blocks: text, tool_use; thinking from Anthropic). */
export class MessageResponseDto {
  /** `msg_<call_id>` when translated; Anthropic's own id when passed through. */
  id!: string;
  type!: 'message';
  role!: 'assistant';
  model!: string;
  content!: Array<Record<string, unknown>>;
  /** end_turn, max_tokens, stop_sequence, tool_use, refusal (pause_turn from Anthropic). */
  stop_reason!: string | null;
  stop_sequence!: string | null;
  usage!: MessagesUsageDto;
}

export class CountTokensResponseDto {
  input_tokens!: number;
}
