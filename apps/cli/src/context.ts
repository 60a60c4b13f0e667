import { type AdminClient, createAdminClient } from '@app/client';
import type { Command } from 'commander';

/** Where the CLI talks to: the process's streams and environment, or a test's. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  fetch?: typeof globalThis.fetch;
}

/** Exit codes: 0 done, 1 the API or the network failed, 2 bad usage or a file with errors. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {}

export interface GlobalOptions {
  adminUrl?: string;
  adminKey?: string;
}

/** The admin client from --admin-url/--admin-key or TOLLGATE_ADMIN_URL/TOLLGATE_ADMIN_KEY. */
export function adminClient(program: Command, io: Io): AdminClient {
  const options = program.opts<GlobalOptions>();
  const baseUrl = options.adminUrl ?? io.env.TOLLGATE_ADMIN_URL;
  const adminKey = options.adminKey ?? io.env.TOLLGATE_ADMIN_KEY;
  if (!baseUrl)
    throw new UsageError('no admin API URL: pass --admin-url or set TOLLGATE_ADMIN_URL');
  if (!adminKey) throw new UsageError('no admin key: pass --admin-key or set TOLLGATE_ADMIN_KEY');
  return createAdminClient({ baseUrl, adminKey, fetch: io.fetch });
}
