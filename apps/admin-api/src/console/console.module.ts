import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger, Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';

/**
 * The built console (apps/console, `npm run build:console`): beside the bundled main.js in
 * dist/apps/admin-api/ui, or under the working directory when the app runs from its sources.
 */
export function consoleDir(): string {
  const candidates = [join(__dirname, 'ui'), resolve('dist/apps/admin-api/ui')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[1];
}

// The files hold no data (every call they make needs X-Admin-Key), so they are public; the page
// may only talk to this origin.
const CSP = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function setHeaders(res: Response, path: string): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  // Vite names assets by content hash; index.html must be revalidated to pick up a new build.
  res.setHeader(
    'Cache-Control',
    path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
  );
}

/** The operator console at /ui, with deep links answered by index.html (SPA fallback). */
@Module({
  imports: [
    ServeStaticModule.forRootAsync({
      useFactory: () => {
        const rootPath = consoleDir();
        if (!existsSync(join(rootPath, 'index.html'))) {
          new Logger('Console').warn(`console not built (${rootPath}): run npm run build`);
        }
        return [
          {
            rootPath,
            serveRoot: '/ui',
            // a missing script or stylesheet is a 404, not the app's index.html
            exclude: ['/ui/assets/{*path}'],
            serveStaticOptions: { setHeaders, redirect: true },
          },
        ];
      },
    }),
  ],
})
export class ConsoleModule {}
