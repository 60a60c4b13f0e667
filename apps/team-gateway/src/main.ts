import './tracing';
import { loadConfig } from '@app/config';
import { startApp } from '@app/http';
import { AppModule } from './app.module';
import { GATEWAY_DOCS } from './docs';

async function bootstrap(): Promise<void> {
  await startApp(AppModule.forRoot(loadConfig('team-gateway')), GATEWAY_DOCS, 'fastify');
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
