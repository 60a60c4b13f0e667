import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { ProvidersModule } from '../providers/providers.module';
import { StreamingModule } from '../streaming/streaming.module';
import { AnthropicExceptionFilter } from './anthropic-error';
import { AnthropicController } from './anthropic.controller';
import { AnthropicService } from './anthropic.service';

/** Anthropic's Messages surface: /v1/messages (stream or not) and /v1/messages/count_tokens. */
@Module({
  imports: [CallsModule, ProvidersModule, StreamingModule],
  controllers: [AnthropicController],
  providers: [AnthropicService, AnthropicExceptionFilter],
})
export class AnthropicModule {}
