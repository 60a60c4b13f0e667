import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { JobsModule } from '../jobs/jobs.module';
import { ProvidersModule } from '../providers/providers.module';
import { StreamingModule } from '../streaming/streaming.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';
import { EmbeddingsController } from './embeddings.controller';
import { EmbeddingsService } from './embeddings.service';
import { OpenAiController } from './openai.controller';
import { OpenAiService } from './openai.service';

/**
 * The OpenAI-compatible surface: /v1/chat/completions (stream or not), /v1/models,
 * /v1/embeddings and the legacy /v1/completions.
 */
@Module({
  imports: [CallsModule, ProvidersModule, JobsModule, StreamingModule],
  controllers: [OpenAiController, EmbeddingsController, CompletionsController],
  providers: [OpenAiService, EmbeddingsService, CompletionsService],
})
export class OpenAiModule {}
