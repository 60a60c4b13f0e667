import createClient, { type Client } from 'openapi-fetch';
import type { components as AdminComponents, paths as AdminPaths } from './generated/admin-api';
import type {
  components as GatewayComponents,
  paths as GatewayPaths,
} from './generated/team-gateway';

export type { AdminPaths, GatewayPaths };
export type AdminClient = Client<AdminPaths>;
export type GatewayClient = Client<GatewayPaths>;
/** Request bodies of the admin API (its DTOs), e.g. `AdminSchemas['CreateTeamDto']`. */
export type AdminSchemas = AdminComponents['schemas'];
export type GatewaySchemas = GatewayComponents['schemas'];

interface ClientOptions {
  baseUrl: string;
  /** A fetch to use instead of the global one (tests record requests with it). */
  fetch?: typeof globalThis.fetch;
}

/** A typed client of the admin API, authenticated with the master key (`X-Admin-Key`). */
export function createAdminClient(options: ClientOptions & { adminKey: string }): AdminClient {
  return createClient<AdminPaths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { 'X-Admin-Key': options.adminKey },
    fetch: options.fetch,
  });
}

/** A typed client of the team gateway, authenticated with a virtual key (`Authorization: Bearer`). */
export function createGatewayClient(options: ClientOptions & { apiKey: string }): GatewayClient {
  return createClient<GatewayPaths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { Authorization: `Bearer ${options.apiKey}` },
    fetch: options.fetch,
  });
}

/** An API answer other than 2xx, carrying the API's `detail` and `code` (`{detail, code}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly code: string | undefined,
    readonly path: string,
  ) {
    super(`${path} → ${status}${code ? ` ${code}` : ''}: ${detail}`);
    this.name = 'ApiError';
  }
}

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

function detailOf(error: unknown, response: Response): { detail: string; code?: string } {
  if (error && typeof error === 'object') {
    const body = error as { detail?: unknown; code?: unknown; error?: { message?: unknown } };
    const code = typeof body.code === 'string' ? body.code : undefined;
    if (typeof body.detail === 'string') return { detail: body.detail, code };
    if (typeof body.error?.message === 'string') return { detail: body.error.message, code };
  }
  if (typeof error === 'string' && error) return { detail: error };
  return { detail: response.statusText || 'request failed' };
}

/**
 * The body of a successful call, or an ApiError with the API's `detail`. The OpenAPI documents
 * describe requests but not yet responses, so the caller names the response shape
 * (see responses.ts).
 */
export async function unwrap<T>(call: Promise<FetchResult>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const { detail, code } = detailOf(error, response);
    const url = new URL(response.url || 'http://unknown/');
    throw new ApiError(response.status, detail, code, url.pathname);
  }
  return data as T;
}

/** A list page: `{data, next_cursor}` (SPEC §2). */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Every item of a paginated list, following `next_cursor`. */
export async function listAll<T>(
  fetchPage: (cursor: string | undefined) => Promise<FetchResult>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap<Page<T>>(fetchPage(cursor));
    items.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return items;
}
