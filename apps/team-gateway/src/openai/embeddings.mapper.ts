import { LlmCallDto } from '../calls/dto/llm-call.dto';
import type { EmbeddingRequest, EmbeddingResult } from '../providers/provider.types';
import type { EmbeddingsRequestDto } from './dto/embeddings-request.dto';

/**
 * The pipeline's call for an embeddings request: no messages, and max_tokens 0 because an
 * embedding generates nothing, so the hold (and the tpm take) is its input tokens alone.
 */
export function toEmbeddingCallBody(req: EmbeddingsRequestDto): LlmCallDto {
  return Object.assign(new LlmCallDto(), {
    model: req.model,
    messages: [],
    max_tokens: 0,
    user: req.user ? req.user.slice(0, 255) : undefined,
  });
}

/** The upstream request, for the deployment's own model name. */
export function toEmbeddingRequest(req: EmbeddingsRequestDto, providerModel: string) {
  const request: EmbeddingRequest = { model: providerModel, input: req.input };
  if (req.encoding_format) request.encoding_format = req.encoding_format;
  if (req.dimensions !== undefined) request.dimensions = req.dimensions;
  if (req.user) request.user = req.user.slice(0, 255);
  return request;
}

export function toEmbeddingsJob(req: EmbeddingsRequestDto) {
  return { job_type: 'embeddings', user_id: req.user ? req.user.slice(0, 255) : undefined };
}

/** A vector as the client asked: float numbers, or base64 of little-endian float32. */
export function encodeEmbedding(
  embedding: number[] | string,
  format: 'float' | 'base64',
): number[] | string {
  if (format === 'base64') {
    if (typeof embedding === 'string') return embedding;
    return Buffer.from(new Float32Array(embedding).buffer).toString('base64');
  }
  if (typeof embedding !== 'string') return embedding;
  const bytes = Buffer.from(embedding, 'base64');
  const length = Math.floor(bytes.length / 4) * 4;
  // a copy: a pooled Buffer's offset need not be float-aligned
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + length));
  return Array.from(floats);
}

/** OpenAI's embeddings answer; usage counts the input tokens billed. */
export function toEmbeddingsResponse(
  result: EmbeddingResult,
  model: string,
  format: 'float' | 'base64' = 'float',
) {
  return {
    object: 'list' as const,
    data: [...result.data]
      .sort((a, b) => a.index - b.index)
      .map((d) => ({
        object: 'embedding' as const,
        index: d.index,
        embedding: encodeEmbedding(d.embedding, format),
      })),
    model,
    usage: {
      prompt_tokens: result.usage.prompt_tokens,
      total_tokens: result.usage.prompt_tokens,
    },
  };
}

export type EmbeddingsResponse = ReturnType<typeof toEmbeddingsResponse>;
