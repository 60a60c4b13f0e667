import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { JobsModule } from '../jobs/jobs.module';
import { ProvidersModule } from '../providers/providers.module';
import { StreamingModule } from '../streaming/streaming.module';
import { OpenAiController } from './openai.controller';
import { OpenAiService } from './openai.service';

/** The OpenAI-compatible surface: /v1/chat/completions (stream or not) and /v1/models. */
@Module({
  imports: [CallsModule, ProvidersModule, JobsModule, StreamingModule],
  controllers: [OpenAiController],
  providers: [OpenAiService],
})
export class OpenAiModule {}
