import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { CallsModule } from '../calls/calls.module';
import { StreamingModule } from '../streaming/streaming.module';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { JobsSweep } from './jobs.sweep';
import { TeamJobsController } from './team-jobs.controller';

@Module({
  imports: [ScheduleModule.forRoot(), CallsModule, StreamingModule],
  controllers: [JobsController, TeamJobsController],
  providers: [JobsService, JobsSweep],
  exports: [JobsService, StreamingModule],
})
export class JobsModule {}
