import { Module } from '@nestjs/common';
import { MeteringModule } from '../metering/metering.module';
import { CreditsController } from './credits.controller';
import { CreditsService } from './credits.service';

@Module({
  imports: [MeteringModule],
  controllers: [CreditsController],
  providers: [CreditsService],
})
export class CreditsModule {}
