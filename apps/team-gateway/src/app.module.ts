import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TeamAuthGuard, VirtualKeyStrategy } from '@app/auth';
import { CacheModule } from '@app/cache';
import { TollgateConfig, TollgateConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { HealthModule, LoggingModule, ShutdownModule } from '@app/http';
import { AnthropicModule } from './anthropic/anthropic.module';
import { CreditsModule } from './credits/credits.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { GatewayExceptionFilter } from './openai/gateway-exception.filter';
import { OpenAiModule } from './openai/openai.module';
import { ResponsesModule } from './responses/responses.module';
import { TeamsModule } from './teams/teams.module';

@Module({})
export class AppModule {
  static forRoot(config: TollgateConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TollgateConfigModule.forRoot('team-gateway', config),
        LoggingModule.forRoot(config),
        ShutdownModule,
        DbModule,
        CacheModule,
        HealthModule,
        MetricsModule,
        TeamsModule,
        JobsModule,
        CreditsModule,
        OpenAiModule,
        ResponsesModule,
        AnthropicModule,
      ],
      providers: [
        VirtualKeyStrategy,
        { provide: APP_GUARD, useClass: TeamAuthGuard },
        { provide: APP_FILTER, useClass: GatewayExceptionFilter },
      ],
    };
  }
}
