import type { ChatMessage, FinishReason, StreamChunk, Usage } from '../providers/provider.types';
import { approxTokens, promptText } from '../providers/tokens';

/**
 * Watches the chunks of one stream on their way to the client: rewrites them for the client
 * (public model name, usage only when asked for) and meters them, so a stream that ends without
 * the upstream's usage (cut, failed, or a server that never sends it) is still billed for what
 * was generated.
 */
export class StreamMeter {
  private readonly delivered: string[] = [];
  private upstreamUsage: Usage | null = null;
  private usageSent = false;
  finishReason: FinishReason | null = null;
  /** Id and creation time of the stream, reused by chunks the gateway adds itself. */
  private id = '';
  private created = 0;

  constructor(
    private readonly messages: ChatMessage[],
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  /** Meters one upstream chunk and returns what the client gets (null: nothing to send). */
  forward(chunk: StreamChunk): StreamChunk | null {
    this.id ||= chunk.id;
    this.created ||= chunk.created;
    for (const choice of chunk.choices) {
      const { content, tool_calls: calls } = choice.delta;
      if (content) this.delivered.push(content);
      for (const call of calls ?? []) {
        this.delivered.push((call.function?.name ?? '') + (call.function?.arguments ?? ''));
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    if (chunk.usage) this.upstreamUsage = chunk.usage;
    const out: StreamChunk = { ...chunk, model: this.model };
    if (!this.includeUsage) {
      delete out.usage;
      return chunk.choices.length > 0 ? out : null;
    }
    if (chunk.usage) this.usageSent = true;
    return out;
  }

  /** True once any content or tool call was generated. */
  get hasOutput(): boolean {
    return this.delivered.length > 0;
  }

  /** The upstream's usage when it gave one, else the prompt estimate plus what was delivered. */
  usage(): Usage {
    if (this.upstreamUsage) return this.upstreamUsage;
    const prompt = approxTokens(promptText(this.messages));
    const text = this.delivered.join('');
    const completion = text ? approxTokens(text) : 0;
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
  }

  /** The final usage chunk the client asked for, when the upstream did not send one. */
  usageChunk(): StreamChunk | null {
    if (!this.includeUsage || this.usageSent) return null;
    this.usageSent = true;
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created || Math.floor(Date.now() / 1000),
      model: this.model,
      choices: [],
      usage: this.usage(),
    };
  }
}
