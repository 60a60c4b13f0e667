import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { JobCompletionService } from '../jobs/job-completion.service';
import { ProvidersModule } from '../providers/providers.module';
import { StreamCallService } from './stream-call.service';

/**
 * SSE streaming of LLM calls, for /api/jobs/*-stream and /v1/chat/completions. It provides its own
 * (stateless) JobCompletionService so that JobsModule can import it without a module cycle.
 */
@Module({
  imports: [CallsModule, ProvidersModule],
  providers: [StreamCallService, JobCompletionService],
  exports: [StreamCallService],
})
export class StreamingModule {}
