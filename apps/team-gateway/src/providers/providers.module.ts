import { Module } from '@nestjs/common';
import { AnthropicAdapter } from './anthropic.adapter';
import { MockAdapter } from './mock.adapter';
import { OpenAiAdapter } from './openai.adapter';
import { ProvidersService } from './providers.service';
import { UpstreamHttp } from './upstream-http';

@Module({
  providers: [UpstreamHttp, OpenAiAdapter, AnthropicAdapter, MockAdapter, ProvidersService],
  exports: [ProvidersService, AnthropicAdapter],
})
export class ProvidersModule {}
