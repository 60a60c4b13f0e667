import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** Newest modification time of the sources (by default TypeScript) under `dir`. */
function newestSource(dir: string, source = /\.ts$/): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path, source));
    else if (source.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0; // not built yet
  }
};

/** Builds the console (apps/console, served by admin-api at /ui) when its build is stale. */
export function buildStaleConsole(): void {
  const sources = Math.max(
    newestSource(join(ROOT, 'apps/console'), /\.(tsx?|css|html)$/),
    newestSource(join(ROOT, 'libs/client/src')),
  );
  if (mtime(join(ROOT, 'dist/apps/admin-api/ui/index.html')) < sources) {
    execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'ignore' });
  }
}

export type AppName = 'admin-api' | 'team-gateway' | 'cli';

const mainOf = (app: AppName) => join(ROOT, `dist/apps/${app}/main.js`);

/**
 * Builds each app whose dist is missing or older than its or the libraries' sources (the Swagger
 * plugin's options in nest-cli.json count too). Called once per e2e run, by the global setup; a
 * fresh dist (CI builds first) is used as it is.
 */
export function buildStaleApps(apps: AppName[] = ['admin-api', 'team-gateway', 'cli']): void {
  const libs = Math.max(
    newestSource(join(ROOT, 'libs')),
    statSync(join(ROOT, 'nest-cli.json')).mtimeMs,
  );
  for (const app of apps) {
    const built = mtime(mainOf(app));
    if (built < Math.max(libs, newestSource(join(ROOT, `apps/${app}/src`)))) {
      execFileSync('npx', ['nest', 'build', app], { cwd: ROOT, stdio: 'ignore' });
    }
  }
}

/** The path of an app's built main.js, for specs that run `node dist/apps/<app>/main.js`. */
export function builtMain(app: AppName): string {
  const main = mainOf(app);
  if (!existsSync(main)) throw new Error(`${main} is missing: the e2e global setup builds it`);
  return main;
}
