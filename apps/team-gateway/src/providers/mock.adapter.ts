import { createHash } from 'node:crypto';
import { setImmediate as nextTick } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import type {
  ChatRequest,
  ChatResult,
  EmbeddingRequest,
  EmbeddingResult,
  ProviderAdapter,
  ProviderTarget,
  StreamChunk,
  TextCompletionRequest,
  ToolCall,
} from './provider.types';
import { embeddingInputTokens } from './openai.adapter';
import { approxTokens, promptText, textOf } from './tokens';

const CHARS_PER_TOKEN = 4;
/** Dimensions of a mock embedding when the request does not set `dimensions`. */
export const MOCK_EMBEDDING_DIMENSIONS = 64;

/** The tool the request forces (`required` → the first tool, or the named one); none otherwise. */
function forcedTool(request: ChatRequest): string | null {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (tools.length === 0 || choice === undefined || choice === 'auto' || choice === 'none') {
    return null;
  }
  return choice === 'required' ? tools[0].function.name : choice.function.name;
}

/**
 * The mock provider's answer: a fixed function of the last user message, with token counts
 * computed from the text (~4 characters a token). Same request, same answer; no network.
 */
export function mockResult(target: ProviderTarget, request: ChatRequest): ChatResult {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const asked = textOf(lastUser?.content ?? null);
  const prompt = promptText(request.messages);
  const id = `mock-${createHash('sha256').update(`${target.providerModel}\n${prompt}`).digest('hex').slice(0, 24)}`;
  const base = { id, model: target.providerModel };
  const tool = forcedTool(request);
  const promptTokens = approxTokens(prompt);
  if (tool) {
    const call: ToolCall = {
      id: `call_${id.slice(5, 21)}`,
      type: 'function',
      function: { name: tool, arguments: JSON.stringify({ input: asked }) },
    };
    const completion = approxTokens(call.function.name + call.function.arguments);
    return Object.assign({}, base, {
      content: null,
      finish_reason: 'tool_calls' as const,
      tool_calls: [call],
      usage: usage(promptTokens, completion),
    });
  }
  let content = `Mock response to: ${asked}`;
  let finish: ChatResult['finish_reason'] = 'stop';
  if (request.max_tokens !== undefined && approxTokens(content) > request.max_tokens) {
    content = content.slice(0, request.max_tokens * CHARS_PER_TOKEN);
    finish = 'length';
  }
  return Object.assign({}, base, {
    content,
    finish_reason: finish,
    usage: usage(promptTokens, approxTokens(content)),
  });
}

const usage = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

/** The stream of a mock result: role, one chunk per word (or the tool call), finish, usage. */
export function mockChunks(result: ChatResult): StreamChunk[] {
  const base = {
    id: result.id,
    object: 'chat.completion.chunk' as const,
    created: Math.floor(Date.now() / 1000),
    model: result.model,
  };
  const chunk = (delta: StreamChunk['choices'][number]['delta']): StreamChunk =>
    Object.assign({}, base, { choices: [{ index: 0, delta, finish_reason: null }] });
  const chunks = [chunk({ role: 'assistant', content: '' })];
  for (const word of result.content?.match(/\s*\S+\s*/g) ?? []) {
    chunks.push(chunk({ content: word }));
  }
  for (const [index, call] of (result.tool_calls ?? []).entries()) {
    const { name, arguments: args } = call.function;
    chunks.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name, arguments: '' } }],
      }),
    );
    chunks.push(chunk({ tool_calls: [{ index, function: { arguments: args } }] }));
  }
  chunks.push(
    Object.assign({}, base, {
      choices: [{ index: 0, delta: {}, finish_reason: result.finish_reason }],
    }),
  );
  chunks.push(Object.assign({}, base, { choices: [], usage: result.usage }));
  return chunks;
}

/** A legacy completion as the chat request the mock answers: the prompt as the user's message. */
const asChat = (request: TextCompletionRequest): ChatRequest =>
  Object.assign({}, request, { messages: [{ role: 'user' as const, content: request.prompt }] });

/**
 * A unit vector that is a fixed function of the model and the input (sha256 counter stream), so
 * the same text always embeds the same and different texts differ.
 */
export function mockEmbedding(model: string, input: string | number[], dimensions: number) {
  const seed = `${model}\n${typeof input === 'string' ? input : input.join(',')}`;
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const bytes = createHash('sha256').update(`${block}:${seed}`).digest();
    for (let i = 0; i + 4 <= bytes.length && values.length < dimensions; i += 4) {
      values.push(bytes.readUInt32LE(i) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.hypot(...values) || 1;
  // rounded to float32, so float and base64 answers are the same numbers
  return values.map((v) => Math.fround(v / norm));
}

export function mockEmbeddings(target: ProviderTarget, request: EmbeddingRequest): EmbeddingResult {
  const input = request.input;
  const items: Array<string | number[]> =
    typeof input === 'string'
      ? [input]
      : input.every((x) => typeof x === 'number')
        ? [input]
        : input;
  const dimensions = request.dimensions ?? MOCK_EMBEDDING_DIMENSIONS;
  const data = items.map((item, index) => {
    const vector = mockEmbedding(target.providerModel, item, dimensions);
    const embedding =
      request.encoding_format === 'base64'
        ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
        : vector;
    return { index, embedding };
  });
  const prompt = embeddingInputTokens(input);
  return { data, usage: { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt } };
}

/** Deterministic and offline; used only when a deployment's provider is `mock`. */
@Injectable()
export class MockAdapter implements ProviderAdapter {
  complete(target: ProviderTarget, request: ChatRequest, signal: AbortSignal): Promise<ChatResult> {
    signal.throwIfAborted();
    return Promise.resolve(mockResult(target, request));
  }

  async *stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    for (const chunk of mockChunks(mockResult(target, request))) {
      // a real turn of the event loop between chunks, so aborts and back-pressure apply
      await nextTick();
      signal.throwIfAborted();
      yield chunk;
    }
  }

  embed(target: ProviderTarget, request: EmbeddingRequest, signal: AbortSignal) {
    signal.throwIfAborted();
    return Promise.resolve(mockEmbeddings(target, request));
  }

  completeText(target: ProviderTarget, request: TextCompletionRequest, signal: AbortSignal) {
    return this.complete(target, asChat(request), signal);
  }

  streamText(target: ProviderTarget, request: TextCompletionRequest, signal: AbortSignal) {
    return this.stream(target, asChat(request), signal);
  }
}
