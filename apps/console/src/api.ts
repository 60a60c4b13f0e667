import { type AdminClient, ApiError, createAdminClient, listAll, unwrap } from '@app/client';
import { createContext, useContext } from 'react';

const STORAGE_KEY = 'tollgate.adminKey';

/** The master key lives in this tab's session storage only: closing the tab signs out. */
export const session = {
  get: (): string | null => sessionStorage.getItem(STORAGE_KEY),
  set: (key: string) => sessionStorage.setItem(STORAGE_KEY, key),
  clear: () => sessionStorage.removeItem(STORAGE_KEY),
};

/** A typed admin client on this origin (the console is served by admin-api itself). */
export const adminClient = (adminKey: string): AdminClient =>
  createAdminClient({ baseUrl: window.location.origin, adminKey });

/** Checks a key against the API: resolves when it is the master key, else throws the API's detail. */
export async function verifyAdminKey(adminKey: string): Promise<void> {
  await unwrap(
    adminClient(adminKey).GET('/api/organizations', { params: { query: { limit: 1 } } }),
  );
}

export const ApiContext = createContext<AdminClient | null>(null);

export function useApi(): AdminClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside a signed-in console');
  return api;
}

/** The message to show for a failed call: the API's `detail` when it sent one. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.detail} (${error.status})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export const isUnauthorized = (error: unknown) => error instanceof ApiError && error.status === 401;

export { listAll, unwrap };
