import { isIP } from 'node:net';
import type { EntityManager } from 'typeorm';
import type { Provider } from '@app/db';
import { badRequest } from '@app/http';

/** A public model name (also what clients send as `model`), e.g. `gpt-4o` or `meta-llama/Llama-3-8b`. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,254}$/;
export const MODEL_NAME_MESSAGE =
  'must be 1-255 characters of letters, digits, _ . : / @ + - (starting with a letter or digit)';

/** Options for class-validator IsUrl: http(s) only, hosts without a TLD (localhost, docker names) allowed. */
export const API_BASE_URL_OPTIONS = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
  allow_underscores: true,
};

/** Names of cloud metadata services (GCP; `metadata` is its short form inside a VPC). */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata']);
/** AWS's IPv6 instance metadata endpoint: unique-local, so not caught by the fe80::/10 rule. */
const AWS_METADATA_IPV6 = 'fd00:ec2::254';

/** 169.254.0.0/16, fe80::/10, or 169.254.x.x mapped into IPv6, in the URL parser's canonical form. */
function isLinkLocal(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('169.254.');
  if (isIP(host) !== 6) return false;
  const first = parseInt(host.split(':')[0] || '0', 16);
  return (
    (first & 0xffc0) === 0xfe80 || host === AWS_METADATA_IPV6 || host.startsWith('::ffff:a9fe:')
  );
}

/**
 * Why `apiBase` may not be an upstream, or null: link-local addresses and cloud metadata
 * services hand out the instance's credentials to whoever makes the gateway call them (SSRF).
 * Judged on the literal host only, nothing is resolved; loopback and private networks (local
 * models) stay allowed. ALLOW_LINK_LOCAL_API_BASE=true turns the rule off.
 */
export function linkLocalApiBaseProblem(apiBase: string, field = 'api_base'): string | null {
  let host: string;
  try {
    host = new URL(apiBase).hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  } catch {
    return null; // not a URL: the DTO's IsUrl says so
  }
  if (!METADATA_HOSTS.has(host) && !isLinkLocal(host)) return null;
  return `${field}: ${host} is a link-local or cloud metadata address; an operator may allow it with ALLOW_LINK_LOCAL_API_BASE=true`;
}

/** Throws 400 for a link-local or metadata api_base unless the operator allows them. */
export function assertApiBaseAllowed(apiBase: string | null | undefined, allowLinkLocal: boolean) {
  const problem = apiBase && !allowLinkLocal ? linkLocalApiBaseProblem(apiBase) : null;
  if (problem) throw badRequest(problem);
}

/** openai and openai-compatible speak the same wire format with a Bearer key; the others stand alone. */
const FAMILY: Record<Provider, string> = {
  openai: 'openai',
  'openai-compatible': 'openai',
  anthropic: 'anthropic',
  'azure-openai': 'azure-openai',
  gemini: 'gemini',
  bedrock: 'bedrock',
  mock: 'mock',
};

/** Whether a credential of `credential` provider can authenticate a deployment of `deployment` provider. */
export const compatibleProviders = (deployment: Provider, credential: Provider) =>
  FAMILY[deployment] === FAMILY[credential];

/** Providers whose requests need a provider api_key (the others may run keyless, e.g. a local Ollama). */
export const requiresApiKey = (provider: Provider) =>
  provider === 'openai' ||
  provider === 'anthropic' ||
  provider === 'azure-openai' ||
  provider === 'gemini';

/** Providers a deployment can only reach with a credential (its key, pair or settings). */
const NEEDS_CREDENTIAL = new Set<Provider>(['azure-openai', 'gemini', 'bedrock']);

/** The displayable tail of a provider key: its last 4 characters, only when the key is long enough to spare them. */
export function apiKeyTail(apiKey: string): string | null {
  return apiKey.length >= 16 ? apiKey.slice(-4) : null;
}

/**
 * What is missing for a deployment to be routable, or null. `credentialApiBase` is the api_base of
 * the referenced credential (the gateway falls back to it when the deployment has none).
 */
export function deploymentProblem(d: {
  provider: Provider;
  credentialId: string | null;
  apiBase: string | null;
  credentialApiBase: string | null;
}): string | null {
  if (d.provider === 'mock') return null;
  if (d.provider === 'openai-compatible' && !d.apiBase && !d.credentialApiBase) {
    return "api_base: required for provider 'openai-compatible' (on the deployment or its credential), including the version segment, e.g. http://localhost:11434/v1";
  }
  if (NEEDS_CREDENTIAL.has(d.provider) && !d.credentialId) {
    return `credential_id: required for provider '${d.provider}'`;
  }
  if (d.provider === 'azure-openai' && !d.apiBase && !d.credentialApiBase) {
    return "api_base: required for provider 'azure-openai' (on the deployment or its credential): the resource endpoint, e.g. https://my-resource.openai.azure.com";
  }
  if (!d.credentialId && !d.apiBase) {
    return `credential_id: provider '${d.provider}' needs a credential_id or its own api_base`;
  }
  return null;
}

/**
 * Serialises changes that affect one model name (deployments added, renamed, deleted; groups
 * listing it) until the transaction ends, so "every grouped model keeps a deployment" holds under
 * concurrency. Names are locked in sorted order to avoid deadlocks.
 */
export async function lockModelNames(manager: EntityManager, names: string[]): Promise<void> {
  for (const name of [...new Set(names)].sort()) {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('tollgate:model:' || $1))`, [name]);
  }
}

/** Model groups (name list) whose models include `modelName`. */
export async function groupsListing(manager: EntityManager, modelName: string): Promise<string[]> {
  const rows: Array<{ group_name: string }> = await manager.query(
    'SELECT group_name FROM model_groups WHERE $1 = ANY(models) ORDER BY group_name',
    [modelName],
  );
  return rows.map((r) => r.group_name);
}

/** Postgres error code of a failed query (23505 unique, 23503 foreign key), if any. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown; driverError?: { code?: unknown } })?.driverError?.code;
  const direct = (err as { code?: unknown })?.code;
  const value = code ?? direct;
  return typeof value === 'string' ? value : undefined;
}
