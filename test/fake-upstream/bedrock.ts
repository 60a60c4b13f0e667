import type { IncomingMessage } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { Answer, split } from './replies';

/** The one AWS key pair (and region) the fake's Bedrock accepts. */
export const FAKE_AWS = {
  accessKeyId: 'AKIAFAKEBEDROCK00001',
  secretAccessKey: 'fakeSecretAccessKey/0123456789abcdefghijKLMN',
  sessionToken: 'FakeSessionToken//0123456789abcdefghijklmnopqrstuvwxyz==',
  region: 'us-east-1',
};

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const MAX_SKEW_MS = 5 * 60_000;

/** `/model/{modelId}/converse` or `/converse-stream` → model id and method. */
export function bedrockRoute(path: string): { model: string; stream: boolean } | null {
  const match = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(path);
  if (!match) return null;
  return { model: decodeURIComponent(match[1]), stream: match[2] === 'converse-stream' };
}

const EXCEPTIONS: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnrecognizedClientException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

export const bedrockExceptionFor = (status: number) =>
  EXCEPTIONS[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');

/** An error as Bedrock's REST-JSON protocol sends it: the type in a header, `{message}` body. */
export function bedrockError(status: number, message: string, type = bedrockExceptionFor(status)) {
  return {
    status,
    headers: {
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': 'fake-request-id',
    },
    body: { message },
  };
}

function fromAmzDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

/**
 * Checks the SigV4 signature as AWS would: recomputes it with the same signer and the known
 * secret over the request as received (method, path, the signed headers, the body bytes) and
 * compares. Returns the error to answer with, or null when the signature is valid.
 */
export async function sigV4Problem(
  req: IncomingMessage,
  rawPath: string,
  rawBody: string,
): Promise<ReturnType<typeof bedrockError> | null> {
  const authorization = String(req.headers.authorization ?? '');
  const parsed =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!parsed) {
    return bedrockError(
      403,
      'Authorization header requires a valid SigV4 signature',
      'IncompleteSignatureException',
    );
  }
  const [, accessKeyId, , region, service, signedHeaders] = parsed;
  if (accessKeyId !== FAKE_AWS.accessKeyId) {
    return bedrockError(
      403,
      'The security token included in the request is invalid.',
      'UnrecognizedClientException',
    );
  }
  const token = req.headers['x-amz-security-token'];
  if (token !== undefined && token !== FAKE_AWS.sessionToken) {
    return bedrockError(
      403,
      'The security token included in the request is invalid.',
      'UnrecognizedClientException',
    );
  }
  const date = fromAmzDate(String(req.headers['x-amz-date'] ?? ''));
  if (!date || Math.abs(Date.now() - date.getTime()) > MAX_SKEW_MS) {
    return bedrockError(
      403,
      'Signature expired or x-amz-date missing',
      'InvalidSignatureException',
    );
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) {
    const value = req.headers[name];
    if (value === undefined) {
      return bedrockError(403, `Signed header ${name} is missing`, 'InvalidSignatureException');
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const [hostname, port] = String(req.headers.host ?? '').split(':');
  const signer = new SignatureV4({
    service,
    region,
    credentials: {
      accessKeyId: FAKE_AWS.accessKeyId,
      secretAccessKey: FAKE_AWS.secretAccessKey,
      ...(token !== undefined ? { sessionToken: FAKE_AWS.sessionToken } : {}),
    },
    sha256: Sha256,
  });
  const expected = await signer.sign(
    new HttpRequest({
      method: req.method ?? 'POST',
      protocol: 'http:',
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path: rawPath,
      headers,
      body: rawBody,
    }),
    { signingDate: date },
  );
  if (
    expected.headers.authorization !== authorization ||
    region !== FAKE_AWS.region ||
    service !== 'bedrock'
  ) {
    return bedrockError(
      403,
      'The request signature we calculated does not match the signature you provided.',
      'InvalidSignatureException',
    );
  }
  return null;
}

/** The Converse request as the chat shape answerFor reads. */
export function converseAsChat(body: Record<string, any>, model: string): Record<string, unknown> {
  const tools = (body.toolConfig?.tools ?? []).map((t: any) => ({ name: t?.toolSpec?.name }));
  const forced = body.toolConfig?.toolChoice?.tool?.name;
  return {
    model,
    system: body.system ?? '',
    messages: Array.isArray(body.messages) ? body.messages : [],
    tools,
    ...(forced ? { tool_choice: { name: forced } } : {}),
    ...(typeof body.inferenceConfig?.maxTokens === 'number'
      ? { max_tokens: body.inferenceConfig.maxTokens }
      : {}),
  };
}

const STOP = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' } as const;

/** Converse usage: inputTokens leaves out cache reads and writes; totalTokens counts them. */
function converseUsage(a: Answer) {
  const { cached, cacheWrite } = a.details;
  return {
    inputTokens: a.usage.prompt_tokens - (cached ?? 0) - (cacheWrite ?? 0),
    outputTokens: a.usage.completion_tokens,
    totalTokens: a.usage.total_tokens,
    ...(cached !== undefined ? { cacheReadInputTokens: cached } : {}),
    ...(cacheWrite !== undefined ? { cacheWriteInputTokens: cacheWrite } : {}),
  };
}

const toolUseId = (a: Answer) => `tooluse_${a.toolCall?.id.slice(5) ?? ''}`;

export function converseResponse(a: Answer, withUsage: boolean) {
  const content: unknown[] = [];
  if (a.content) content.push({ text: a.content });
  if (a.toolCall) {
    content.push({
      toolUse: {
        toolUseId: toolUseId(a),
        name: a.toolCall.name,
        input: JSON.parse(a.toolCall.arguments) as unknown,
      },
    });
  }
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: STOP[a.finish],
    ...(withUsage ? { usage: converseUsage(a) } : {}),
    metrics: { latencyMs: 12 },
  };
}

/** The ConverseStream events (event type, payload) in the real order. */
export function converseStreamEvents(
  a: Answer,
  pieces: number,
  withUsage: boolean,
): Array<[string, unknown]> {
  const events: Array<[string, unknown]> = [['messageStart', { role: 'assistant' }]];
  let index = 0;
  if (!a.toolCall) {
    for (const text of split(a.content, pieces)) {
      events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { text } }]);
    }
    events.push(['contentBlockStop', { contentBlockIndex: index }]);
    index += 1;
  } else {
    events.push([
      'contentBlockStart',
      {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: toolUseId(a), name: a.toolCall.name } },
      },
    ]);
    for (const input of split(a.toolCall.arguments, pieces)) {
      events.push([
        'contentBlockDelta',
        { contentBlockIndex: index, delta: { toolUse: { input } } },
      ]);
    }
    events.push(['contentBlockStop', { contentBlockIndex: index }]);
  }
  events.push(['messageStop', { stopReason: STOP[a.finish] }]);
  if (withUsage) {
    events.push(['metadata', { usage: converseUsage(a), metrics: { latencyMs: 12 } }]);
  }
  return events;
}

/** One event-stream frame (prelude, headers, payload, CRCs) as AWS sends it. */
export function eventFrame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify({ ...(payload as object), p: 'abcdefgh' })),
  });
}

/** An exception frame in the middle of a stream (e.g. throttlingException). */
export function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}
