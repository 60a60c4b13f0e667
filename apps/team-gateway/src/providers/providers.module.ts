import { Module } from '@nestjs/common';
import { AnthropicAdapter } from './anthropic.adapter';
import { AzureOpenAiAdapter } from './azure-openai.adapter';
import { BedrockAdapter } from './bedrock.adapter';
import { GeminiAdapter } from './gemini.adapter';
import { MockAdapter } from './mock.adapter';
import { OpenAiAdapter } from './openai.adapter';
import { ProvidersService } from './providers.service';
import { UpstreamHttp } from './upstream-http';

@Module({
  providers: [
    UpstreamHttp,
    OpenAiAdapter,
    AnthropicAdapter,
    AzureOpenAiAdapter,
    GeminiAdapter,
    BedrockAdapter,
    MockAdapter,
    ProvidersService,
  ],
  exports: [ProvidersService, AnthropicAdapter],
})
export class ProvidersModule {}
