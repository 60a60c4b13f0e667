import type { IncomingMessage } from 'node:http';
import { Answer, split } from './replies';

/** The API key the fake's Gemini expects in `x-goog-api-key`. */
export const FAKE_GEMINI_KEY = 'AIzaFakeGeminiKey0123456789abcdefghijklm';

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** `/v1beta/models/{model}:generateContent` or `:streamGenerateContent` → model and method. */
export function geminiRoute(path: string): { model: string; stream: boolean } | null {
  const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path);
  if (!match) return null;
  return { model: decodeURIComponent(match[1]), stream: match[2] === 'streamGenerateContent' };
}

/** A google.rpc.Status error body; a 429 carries RetryInfo (Google sends no Retry-After). */
export function geminiError(code: number, message: string, retryAfterSeconds?: number) {
  const details: unknown[] = [];
  if (code === 429 && retryAfterSeconds !== undefined) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.RetryInfo',
      retryDelay: `${retryAfterSeconds}s`,
    });
  }
  return {
    error: {
      code,
      message,
      status: STATUS[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
      ...(details.length > 0 ? { details } : {}),
    },
  };
}

/** Google answers a wrong key with 400 INVALID_ARGUMENT and the reason API_KEY_INVALID. */
export function geminiKeyProblem(req: IncomingMessage) {
  if (req.headers['x-goog-api-key'] === FAKE_GEMINI_KEY) return null;
  return {
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
        },
      ],
    },
  };
}

/** The request as the chat shape answerFor reads (messages, system, tools, tool_choice, max_tokens). */
export function geminiAsChat(body: Record<string, any>, model: string): Record<string, unknown> {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  const declarations = (Array.isArray(body.tools) ? body.tools : []).flatMap(
    (t: any) => t?.functionDeclarations ?? [],
  );
  const allowed = body.toolConfig?.functionCallingConfig?.allowedFunctionNames;
  return {
    model,
    system: body.systemInstruction?.parts ?? '',
    messages: contents.map((c: any) => ({
      role: c?.role === 'model' ? 'assistant' : 'user',
      content: c?.parts ?? [],
    })),
    tools: declarations.map((d: any) => ({ name: d?.name })),
    ...(Array.isArray(allowed) && allowed.length > 0 ? { tool_choice: { name: allowed[0] } } : {}),
    ...(typeof body.generationConfig?.maxOutputTokens === 'number'
      ? { max_tokens: body.generationConfig.maxOutputTokens }
      : {}),
  };
}

const FINISH = { stop: 'STOP', length: 'MAX_TOKENS', tool_calls: 'STOP' } as const;

/** usageMetadata: promptTokenCount includes the cached tokens; thoughts are counted apart. */
function usageMetadata(a: Answer, completionSoFar = a.usage.completion_tokens) {
  const { cached, reasoning } = a.details;
  const candidates = Math.max(0, completionSoFar - (reasoning ?? 0));
  return {
    promptTokenCount: a.usage.prompt_tokens,
    candidatesTokenCount: candidates,
    totalTokenCount: a.usage.prompt_tokens + completionSoFar,
    ...(cached !== undefined ? { cachedContentTokenCount: cached } : {}),
    ...(reasoning !== undefined ? { thoughtsTokenCount: reasoning } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: a.usage.prompt_tokens }],
  };
}

/** The signature the fake puts on its function calls (a thinking model's thoughtSignature). */
export const signatureFor = (a: Answer) =>
  Buffer.from(`sig:${a.toolCall?.id ?? ''}`).toString('base64');

function parts(a: Answer, text: string) {
  const out: unknown[] = [];
  if (text) out.push({ text });
  if (a.toolCall) {
    out.push({
      functionCall: { name: a.toolCall.name, args: JSON.parse(a.toolCall.arguments) as unknown },
      thoughtSignature: signatureFor(a),
    });
  }
  return out;
}

/**
 * Gemini 3 refuses a conversation whose model turns carry a function call without its
 * thoughtSignature (400); the fake does the same for models named gemini-3….
 */
export function geminiSignatureProblem(body: unknown, model: string) {
  if (!model.startsWith('gemini-3')) return null;
  const contents = (body as { contents?: unknown })?.contents;
  const unsigned = (Array.isArray(contents) ? contents : []).some(
    (c: any) =>
      c?.role === 'model' &&
      (c.parts ?? []).some((p: any) => p?.functionCall && typeof p.thoughtSignature !== 'string'),
  );
  return unsigned
    ? geminiError(400, 'Function call is missing a thought_signature in functionCall parts.')
    : null;
}

export function geminiResponse(a: Answer, withUsage: boolean) {
  return {
    candidates: [
      {
        content: { role: 'model', parts: parts(a, a.content) },
        finishReason: FINISH[a.finish],
        index: 0,
      },
    ],
    ...(withUsage ? { usageMetadata: usageMetadata(a) } : {}),
    modelVersion: a.model,
    responseId: `resp-${a.id}`,
  };
}

/** The `data:` payloads of `streamGenerateContent?alt=sse`: text pieces, then the finish. */
export function geminiStreamEvents(a: Answer, pieces: number, withUsage: boolean): unknown[] {
  const base = { modelVersion: a.model, responseId: `resp-${a.id}` };
  const texts = a.toolCall ? [] : split(a.content, pieces);
  const out: unknown[] = texts.map((text) => ({
    ...base,
    candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }],
    ...(withUsage ? { usageMetadata: { promptTokenCount: a.usage.prompt_tokens } } : {}),
  }));
  out.push({
    ...base,
    candidates: [
      {
        content: { role: 'model', parts: a.toolCall ? parts(a, '') : [{ text: '' }] },
        finishReason: FINISH[a.finish],
        index: 0,
      },
    ],
    ...(withUsage ? { usageMetadata: usageMetadata(a) } : {}),
  });
  return out;
}
