import { isEmbeddingInput } from './dto/embeddings-request.dto';
import { encodeEmbedding, toEmbeddingsResponse } from './embeddings.mapper';
import { mockEmbeddings } from '../providers/mock.adapter';
import { embeddingInputTokens, fromOpenAiEmbeddings } from '../providers/openai.adapter';

const target = {
  provider: 'mock' as const,
  apiBase: '',
  apiKey: null,
  providerModel: 'embed-1',
};

describe('embeddings', () => {
  it('accepts OpenAI input shapes and refuses empty or mixed ones', () => {
    for (const ok of ['a', ['a', 'b'], [1, 2, 3], [[1], [2, 3]]]) {
      expect(isEmbeddingInput(ok)).toBe(true);
    }
    for (const bad of ['', [], [''], ['a', 1], [[]], [1.5], [-1], { a: 1 }, null, 3]) {
      expect(isEmbeddingInput(bad)).toBe(false);
    }
    expect(isEmbeddingInput(Array.from({ length: 2049 }, () => 'x'))).toBe(false);
  });

  it('counts input tokens: text ~4 characters a token, token arrays by length', () => {
    expect(embeddingInputTokens('abcdefgh')).toBe(2);
    expect(embeddingInputTokens(['abcd', 'abcde'])).toBe(3);
    expect(embeddingInputTokens([5, 6, 7])).toBe(3);
    expect(embeddingInputTokens([[5, 6], [7]])).toBe(3);
  });

  it('mock vectors are deterministic unit vectors, distinct per input, base64 = float32 bytes', () => {
    const a = mockEmbeddings(target, { model: 'embed-1', input: ['hello', 'world'] });
    const again = mockEmbeddings(target, { model: 'embed-1', input: ['hello', 'world'] });
    expect(again).toEqual(a);
    const [h, w] = a.data.map((d) => d.embedding as number[]);
    expect(h).toHaveLength(64);
    expect(h).not.toEqual(w);
    expect(Math.hypot(...h)).toBeCloseTo(1, 5);
    const b64 = mockEmbeddings(target, {
      model: 'embed-1',
      input: 'hello',
      encoding_format: 'base64',
      dimensions: 16,
    });
    const decoded = encodeEmbedding(b64.data[0].embedding, 'float') as number[];
    expect(decoded).toHaveLength(16);
    expect(decoded).toEqual(
      mockEmbeddings(target, { model: 'embed-1', input: 'hello', dimensions: 16 }).data[0]
        .embedding,
    );
    expect(a.usage).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
  });

  it('answers in OpenAI shape, in the encoding asked, whatever the upstream sent', () => {
    const upstream = fromOpenAiEmbeddings(
      {
        data: [
          { index: 1, embedding: [0.5, -0.25] },
          { index: 0, embedding: Buffer.from(new Float32Array([1, 2]).buffer).toString('base64') },
        ],
        usage: { prompt_tokens: 7, total_tokens: 7 },
      },
      { model: 'm', input: ['a', 'b'] },
    );
    expect(toEmbeddingsResponse(upstream, 'public', 'float')).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [1, 2] },
        { object: 'embedding', index: 1, embedding: [0.5, -0.25] },
      ],
      model: 'public',
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
    const b64 = toEmbeddingsResponse(upstream, 'public', 'base64');
    expect(encodeEmbedding(b64.data[1].embedding, 'float')).toEqual([0.5, -0.25]);
  });

  it('refuses a malformed upstream answer, estimates usage when it is missing', () => {
    expect(() =>
      fromOpenAiEmbeddings({ data: [{ embedding: 'x' }, {}] }, { model: 'm', input: 'a' }),
    ).toThrow(/malformed/);
    const estimated = fromOpenAiEmbeddings(
      { data: [{ embedding: [1] }] },
      { model: 'm', input: 'abcdefgh' },
    );
    expect(estimated.usage.prompt_tokens).toBe(2);
  });
});
