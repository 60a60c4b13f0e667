import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Figures of a reliability spec, for `npm run test:reliability`'s summary: written as
 * `$RELIABILITY_REPORT_DIR/<name>.json` when that is set (nothing otherwise).
 */
export function writeReport(name: string, figures: unknown): void {
  const dir = process.env.RELIABILITY_REPORT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify({ at: new Date().toISOString(), figures }, null, 2),
  );
}
