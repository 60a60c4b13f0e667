import { MASTER_KEY } from '../helpers/apps';

/** One request as the fuzzer sends it, printable so a failure can be replayed by hand. */
export interface FuzzRequest {
  service: 'admin-api' | 'team-gateway';
  method: string;
  /** The OpenAPI route (template), for the summary. */
  route: string;
  /** The concrete path with its query string. */
  path: string;
  headers: Record<string, string>;
  /** JSON text (possibly malformed on purpose). */
  body?: string;
}

export interface FuzzResponse {
  status: number;
  body: unknown;
  text: string;
  /** Error events seen in a `text/event-stream` answer (a stream that failed after its 200). */
  streamErrors: string[];
  /** The request, described for a replay (set by the stateful commands). */
  request?: string;
}

export function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? '' : ` body=${truncate(req.body, 2000)}`;
  const headers = Object.entries(req.headers)
    .filter(([k]) => !/^(authorization|x-admin-key)$/i.test(k))
    .map(([k, v]) => `${k}: ${truncate(v, 200)}`)
    .join(', ');
  return `${req.service} ${req.method} ${truncate(req.path, 2000)}${headers ? ` headers={${headers}}` : ''}${body}`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);

/**
 * Tallies of every request the fuzzer sent: per status class and per route, so the run can print
 * one summary line per route for docs/reliability.md.
 */
export class Tally {
  readonly byRoute = new Map<string, Record<string, number>>();
  total = 0;
  readonly byClass: Record<string, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };

  add(req: FuzzRequest, status: number): void {
    const cls = `${Math.floor(status / 100)}xx`;
    this.total += 1;
    this.byClass[cls] = (this.byClass[cls] ?? 0) + 1;
    const key = `${req.service} ${req.method} ${req.route}`;
    const row = this.byRoute.get(key) ?? {};
    row[cls] = (row[cls] ?? 0) + 1;
    this.byRoute.set(key, row);
  }

  summary(title: string): string {
    const cls = (r: Record<string, number>) =>
      ['2xx', '3xx', '4xx', '5xx']
        .filter((c) => r[c])
        .map((c) => `${c}=${r[c]}`)
        .join(' ');
    const lines = [...this.byRoute.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, r]) => `  ${route}: ${cls(r)}`);
    return [`${title}: ${this.total} requests, ${cls(this.byClass)}`, ...lines].join('\n');
  }

  toJSON() {
    return {
      total: this.total,
      by_class: this.byClass,
      by_route: Object.fromEntries(this.byRoute),
    };
  }
}

/** Sends a fuzz request with valid auth; reads the whole answer (streams included). */
export async function send(
  base: string,
  req: FuzzRequest,
  auth: { admin?: boolean; bearer?: string },
): Promise<FuzzResponse> {
  const headers: Record<string, string> = { ...req.headers };
  if (auth.admin) headers['X-Admin-Key'] = MASTER_KEY;
  if (auth.bearer) headers.Authorization = `Bearer ${auth.bearer}`;
  if (req.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + req.path, {
    method: req.method,
    headers,
    body: req.body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // an SSE stream or plain text
  }
  const streamErrors: string[] = [];
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    for (const line of text.split('\n')) {
      if (line.startsWith('data: {"error"')) streamErrors.push(line);
    }
  }
  return { status: res.status, body, text, streamErrors };
}
