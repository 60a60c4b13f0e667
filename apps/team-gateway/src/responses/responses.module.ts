import { Module } from '@nestjs/common';
import { CallsModule } from '../calls/calls.module';
import { StreamingModule } from '../streaming/streaming.module';
import { ResponsesController } from './responses.controller';
import { ResponsesService } from './responses.service';

/** OpenAI's Responses API (/v1/responses) over the one call pipeline. */
@Module({
  imports: [CallsModule, StreamingModule],
  controllers: [ResponsesController],
  providers: [ResponsesService],
})
export class ResponsesModule {}
