import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { JobCompletionService } from '../jobs/job-completion.service';
import { ProvidersModule } from '../providers/providers.module';
import { StreamCallService } from './stream-call.service';

/**
 * SSE streaming of LLM calls, for /api/jobs/*-stream and /v1/chat/completions. It owns the
 * JobCompletionService (a one-call stream closes its job), which JobsModule reuses through this
 * module's exports, so the service exists once and there is no module cycle.
 */
@Module({
  imports: [CallsModule, ProvidersModule],
  providers: [StreamCallService, JobCompletionService],
  exports: [StreamCallService, JobCompletionService],
})
export class StreamingModule {}
