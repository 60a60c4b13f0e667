import './tracing';
import { loadConfig } from '@app/config';
import { startApp } from '@app/http';
import { AppModule } from './app.module';
import { ADMIN_DOCS } from './docs';
import { runReencryptCommand } from './provider-credentials/reencrypt-command';

async function bootstrap(): Promise<void> {
  const config = loadConfig('admin-api');
  if (process.argv.includes('--reencrypt-credentials')) {
    process.exit(await runReencryptCommand(config));
  }
  await startApp(AppModule.forRoot(config), ADMIN_DOCS, 'express');
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
