import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module';
import { RateLimitsModule } from '../rate-limits/rate-limits.module';
import { RoutingModule } from '../routing/routing.module';
import { CallsService } from './calls.service';

@Module({
  imports: [RoutingModule, RateLimitsModule, ProvidersModule],
  providers: [CallsService],
  exports: [CallsService, RoutingModule, RateLimitsModule],
})
export class CallsModule {}
