import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** Newest modification time of the TypeScript sources under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The real build of one app, for specs that run `node dist/apps/<app>/main.js` (CI runs
 * `npm run build` first); rebuilt when missing or older than the app's or the libraries' sources.
 * Returns the path of main.js.
 */
export function ensureBuilt(app: 'admin-api' | 'team-gateway' | 'cli'): string {
  const main = join(ROOT, `dist/apps/${app}/main.js`);
  let built = 0;
  try {
    built = statSync(main).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(
    newestSource(join(ROOT, `apps/${app}/src`)),
    newestSource(join(ROOT, 'libs')),
    statSync(join(ROOT, 'nest-cli.json')).mtimeMs, // the Swagger plugin's options
  );
  if (built < sources) {
    execFileSync('npx', ['nest', 'build', app], { cwd: ROOT, stdio: 'ignore' });
  }
  return main;
}
