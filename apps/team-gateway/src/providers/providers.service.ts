import { Injectable } from '@nestjs/common';
import { AnthropicAdapter } from './anthropic.adapter';
import { AzureOpenAiAdapter } from './azure-openai.adapter';
import { BedrockAdapter } from './bedrock.adapter';
import { GeminiAdapter } from './gemini.adapter';
import { MockAdapter } from './mock.adapter';
import { OpenAiAdapter } from './openai.adapter';
import type { ProviderAdapter, ProviderTarget } from './provider.types';
import { UpstreamError } from './provider.types';

/** Picks the adapter for a deployment's provider. */
@Injectable()
export class ProvidersService {
  constructor(
    private readonly openai: OpenAiAdapter,
    private readonly anthropic: AnthropicAdapter,
    private readonly azure: AzureOpenAiAdapter,
    private readonly gemini: GeminiAdapter,
    private readonly bedrock: BedrockAdapter,
    private readonly mock: MockAdapter,
  ) {}

  adapterFor(provider: ProviderTarget['provider']): ProviderAdapter {
    switch (provider) {
      case 'openai':
      case 'openai-compatible':
        return this.openai;
      case 'anthropic':
        return this.anthropic;
      case 'azure-openai':
        return this.azure;
      case 'gemini':
        return this.gemini;
      case 'bedrock':
        return this.bedrock;
      case 'mock':
        return this.mock;
    }
    // a provider value written to the database by something newer than this code
    throw new UpstreamError('bad_request', `Unknown provider ${String(provider)}`);
  }

  /** Whether the provider's adapter has an optional operation (embeddings, legacy completions). */
  supports(
    provider: ProviderTarget['provider'],
    operation: 'embed' | 'completeText' | 'streamText',
  ): boolean {
    try {
      return typeof this.adapterFor(provider)[operation] === 'function';
    } catch {
      return false;
    }
  }
}
