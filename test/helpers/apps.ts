import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { AppModule as AdminModule } from '../../apps/admin-api/src/app.module';
import { ADMIN_DOCS } from '../../apps/admin-api/src/docs';
import { AppModule as GatewayModule } from '../../apps/team-gateway/src/app.module';
import { GATEWAY_DOCS } from '../../apps/team-gateway/src/docs';
import { AppName, loadConfig } from '../../libs/config/src';
import { configureApp, createApp } from '../../libs/http/src';
import { recordRoutes } from './routes';

export const MASTER_KEY = 'sk-admin-e2e-' + 'x'.repeat(32);
export const ENCRYPTION_KEY = randomBytes(32).toString('base64');

export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** Boots the real app (real Postgres, real Redis) on a random loopback port. */
export async function startService(
  name: AppName,
  env: Record<string, string> = {},
): Promise<RunningApp> {
  const config = loadConfig(name, {
    NODE_ENV: 'test',
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    MASTER_KEY,
    ENCRYPTION_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TOLLGATE_DATA_DIR: '.test-services/data',
    ...env,
  });
  const module = name === 'admin-api' ? AdminModule.forRoot(config) : GatewayModule.forRoot(config);
  // as in production (main.ts): the admin-api on Express, the gateway on Fastify
  const app = await createApp(module, name === 'admin-api' ? 'express' : 'fastify', {
    logger: false,
  });
  recordRoutes(app);
  configureApp(app, name === 'admin-api' ? ADMIN_DOCS : GATEWAY_DOCS);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}

export const startAdmin = (env?: Record<string, string>) => startService('admin-api', env);
export const startGateway = (env?: Record<string, string>) => startService('team-gateway', env);

/** A short unique suffix so specs can share one database. */
export const uid = (prefix = 't') => `${prefix}-${randomBytes(5).toString('hex')}`;
