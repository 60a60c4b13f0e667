import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { dataSourceOptions } from './data-source';
import { ensureEmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrate';

/** Connects to DATABASE_URL (or the embedded server) and applies migrations before the app listens. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [TOLLGATE_CONFIG],
      useFactory: async (config: TollgateConfig) => {
        const url =
          config.db.url ??
          (await ensureEmbeddedPostgres(config.db.dataDir, config.db.embeddedPort));
        await runMigrations(url);
        return dataSourceOptions(url, config.db.poolSize);
      },
    }),
  ],
})
export class DbModule {}
