import { Injectable } from '@nestjs/common';
import type {
  ChatRequest,
  ChatResult,
  ProviderAdapter,
  ProviderTarget,
  StreamChunk,
} from './provider.types';
import { UpstreamError } from './provider.types';
import {
  chunksFromResult,
  fromOpenAiCompletion,
  toOpenAiBody,
  toStreamChunk,
} from './openai.adapter';
import { UpstreamCall, UpstreamHttp } from './upstream-http';

/** The newest generally available data-plane `api-version` of Azure OpenAI's chat completions. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/**
 * Azure OpenAI: `POST {resource endpoint}/openai/deployments/{deployment}/chat/completions
 * ?api-version=…` with the key in `api-key`; the body and answer are OpenAI's chat completions.
 * The deployment's provider_model is the Azure deployment name.
 */
@Injectable()
export class AzureOpenAiAdapter implements ProviderAdapter {
  constructor(private readonly http: UpstreamHttp) {}

  async complete(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): Promise<ChatResult> {
    const json = await this.http.postJson(azureCall(target, request, false, signal));
    return fromOpenAiCompletion(json, request);
  }

  async *stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    for await (const event of this.http.postStream(azureCall(target, request, true, signal))) {
      const data = event.data.trim();
      if (data === '[DONE]') return;
      if (data === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        throw new UpstreamError(
          'malformed_response',
          'Upstream answer is malformed: invalid JSON in the stream',
          200,
        );
      }
      if (event.event === 'json') {
        yield* chunksFromResult(fromOpenAiCompletion(parsed, request));
        return;
      }
      const chunk = toStreamChunk(parsed, target.apiKey);
      // Azure opens with a chunk of prompt_filter_results only: nothing for the client
      if (chunk.choices.length === 0 && !chunk.usage) continue;
      yield chunk;
    }
  }
}

/** The deployment URL, with the credential's api-version (or the default). */
export function azureUrl(target: ProviderTarget): string {
  const base = target.apiBase.replace(/\/+$/, '');
  if (!base) {
    throw new UpstreamError(
      'bad_request',
      'The azure-openai deployment has no api_base (its resource endpoint)',
    );
  }
  const version = target.settings?.apiVersion || AZURE_DEFAULT_API_VERSION;
  const deployment = encodeURIComponent(target.providerModel);
  return `${base}/openai/deployments/${deployment}/chat/completions?api-version=${encodeURIComponent(version)}`;
}

function azureCall(
  target: ProviderTarget,
  request: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
): UpstreamCall {
  const body = toOpenAiBody(target, request, stream);
  delete body.model; // Azure routes by the deployment in the path
  return {
    url: azureUrl(target),
    headers: target.apiKey ? { 'api-key': target.apiKey } : {},
    body,
    signal,
    secret: target.apiKey,
  };
}
