import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AutoRefillService } from './auto-refill.service';
import { CreditsController } from './credits.controller';
import { CreditsService } from './credits.service';

@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [CreditsController],
  providers: [CreditsService, AutoRefillService],
  exports: [AutoRefillService],
})
export class CreditsModule {}
