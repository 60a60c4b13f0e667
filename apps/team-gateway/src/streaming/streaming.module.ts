import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { ProvidersModule } from '../providers/providers.module';
import { StreamCallService } from './stream-call.service';

/** SSE streaming of LLM calls, for /api/jobs/*-stream and /v1/chat/completions. */
@Module({
  imports: [CallsModule, ProvidersModule],
  providers: [StreamCallService],
  exports: [StreamCallService],
})
export class StreamingModule {}
