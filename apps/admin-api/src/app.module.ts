import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AdminKeyGuard } from '@app/auth';
import { CacheModule } from '@app/cache';
import { TollgateConfig, TollgateConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { HealthModule, LoggingModule, ShutdownModule, TollgateExceptionFilter } from '@app/http';
import { AdminDbModule } from './admin-db/admin-db.module';
import { AnalyticsModule } from './analytics/analytics.module';
import { AuditModule } from './audit/audit.module';
import { ConsoleModule } from './console/console.module';
import { CreditsModule } from './credits/credits.module';
import { KeysModule } from './keys/keys.module';
import { ModelGroupsModule } from './model-groups/model-groups.module';
import { ModelsModule } from './models/models.module';
import { OrganizationsModule } from './organizations/organizations.module';
import { ProviderCredentialsModule } from './provider-credentials/provider-credentials.module';
import { TeamsModule } from './teams/teams.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static forRoot(config: TollgateConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TollgateConfigModule.forRoot('admin-api', config),
        LoggingModule.forRoot(config),
        ShutdownModule,
        DbModule,
        AdminDbModule,
        CacheModule,
        HealthModule,
        OrganizationsModule,
        TeamsModule,
        KeysModule,
        CreditsModule,
        AnalyticsModule,
        AuditModule,
        ProviderCredentialsModule,
        ModelsModule,
        ModelGroupsModule,
        WebhooksModule,
        ConsoleModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AdminKeyGuard },
        { provide: APP_FILTER, useClass: TollgateExceptionFilter },
      ],
    };
  }
}
