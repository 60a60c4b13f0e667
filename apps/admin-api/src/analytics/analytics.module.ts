import { Module } from '@nestjs/common';
import { AnalyticsController } from './analytics.controller';
import { JobHistoryService } from './job-history.service';
import { UsageService } from './usage.service';

@Module({
  controllers: [AnalyticsController],
  providers: [JobHistoryService, UsageService],
})
export class AnalyticsModule {}
