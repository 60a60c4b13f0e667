import { Module } from '@nestjs/common';
import { KeyBudgetAlerts } from '../alerts/key-budget-alerts';
import { JobCompletionService } from '../jobs/job-completion.service';
import { MeteringModule } from '../metering/metering.module';
import { ProvidersModule } from '../providers/providers.module';
import { RateLimitsModule } from '../rate-limits/rate-limits.module';
import { RoutingModule } from '../routing/routing.module';
import { CallsService } from './calls.service';
import { HoldRenewal } from './hold-renewal';

/** The call pipeline, and the job completion it closes one-call jobs with. */
@Module({
  imports: [RoutingModule, RateLimitsModule, ProvidersModule, MeteringModule],
  providers: [CallsService, JobCompletionService, HoldRenewal, KeyBudgetAlerts],
  exports: [CallsService, JobCompletionService, RoutingModule, RateLimitsModule, MeteringModule],
})
export class CallsModule {}
