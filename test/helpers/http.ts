import { MASTER_KEY } from './apps';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with JSON in and out; `admin: true` adds the X-Admin-Key header. */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: {
    body?: unknown;
    admin?: boolean;
    bearer?: string;
    headers?: Record<string, string>;
    raw?: string;
  } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.admin) headers['X-Admin-Key'] = MASTER_KEY;
  if (options.bearer) headers.Authorization = `Bearer ${options.bearer}`;
  let payload: string | undefined = options.raw;
  if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** Polls until `check` passes or the deadline passes; returns the elapsed ms. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 3000,
  stepMs = 50,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
