import type { ChatMessage, FinishReason, StreamChunk, Usage } from '../providers/provider.types';
import { approxTokens, promptText } from '../providers/tokens';

/**
 * Watches the chunks of one stream on their way to the client: rewrites them for the client
 * (public model name, usage only when asked for, and then only in a final chunk of its own) and
 * meters them, so a stream that ends without the upstream's final usage (cut, failed, or a server
 * that never sends it) is still billed for what was generated, on the upstream's own counts as
 * far as it gave them (e.g. Anthropic's input_tokens from message_start).
 */
export class StreamMeter {
  private readonly delivered: string[] = [];
  /** The upstream's usage for the whole answer: on a chunk without choices, or with the finish. */
  private upstreamUsage: Usage | null = null;
  /** Usage the upstream reported mid-stream: real prompt tokens, completion tokens so far. */
  private partialUsage: Usage | null = null;
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
    const final = chunk.choices.length === 0 || chunk.choices.some((c) => c.finish_reason);
    if (chunk.usage && final) this.upstreamUsage = chunk.usage;
    else if (chunk.usage) this.partialUsage = chunk.usage;
    const out: StreamChunk = Object.assign({}, chunk, { model: this.model });
    if (chunk.choices.length > 0) {
      // OpenAI sends usage only in a last chunk without choices: usageChunk() adds it if needed
      // (set to undefined, not deleted: JSON leaves it out, and the object keeps its fast shape)
      if (out.usage !== undefined) out.usage = undefined;
      return out;
    }
    if (!this.includeUsage) return null;
    if (chunk.usage) this.usageSent = true;
    return out;
  }

  /** True once any content or tool call was generated. */
  get hasOutput(): boolean {
    return this.delivered.length > 0;
  }

  /**
   * The upstream's usage when it gave one for the whole answer; else its partial counts where it
   * gave them (prompt; completion so far) and estimates of the prompt and of what was delivered.
   */
  usage(): Usage {
    if (this.upstreamUsage) return this.upstreamUsage;
    const text = this.delivered.join('');
    const upstreamPrompt = this.partialUsage?.prompt_tokens;
    const prompt = upstreamPrompt || approxTokens(promptText(this.messages));
    const completion = Math.max(
      this.partialUsage?.completion_tokens ?? 0,
      text ? approxTokens(text) : 0,
    );
    const usage: Usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
    // the upstream's cache counts belong with its own prompt count (e.g. from message_start)
    const details = this.partialUsage?.prompt_tokens_details;
    if (upstreamPrompt && details) usage.prompt_tokens_details = { ...details };
    return usage;
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
