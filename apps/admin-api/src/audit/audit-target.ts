/** Route parameter → the kind of resource it names. */
const PARAM_TARGETS: Record<string, string> = {
  team_id: 'team',
  key_id: 'key',
  org_id: 'organization',
  organization_id: 'organization',
  credential_id: 'provider_credential',
  model_id: 'model',
  name: 'model_group',
  group_name: 'model_group',
  job_id: 'job',
  webhook_id: 'webhook',
};

/** First path segment after /api → resource kind (for routes without an id parameter). */
const SEGMENT_TARGETS: Record<string, string> = {
  organizations: 'organization',
  teams: 'team',
  keys: 'key',
  'provider-credentials': 'provider_credential',
  models: 'model',
  'model-groups': 'model_group',
  credits: 'team',
  jobs: 'job',
  webhooks: 'webhook',
};

const ID_FIELDS: Record<string, string> = {
  organization: 'organization_id',
  team: 'team_id',
  key: 'key_id',
  provider_credential: 'credential_id',
  model: 'model_id',
  model_group: 'group_name',
  job: 'job_id',
  webhook: 'webhook_id',
};

/** Ids a response may carry, kept in the summary (e.g. the key_id a create or rotate issued). */
export const RESULT_ID_FIELDS = [...Object.values(ID_FIELDS), 'transaction_id'];

export interface AuditTarget {
  type: string | null;
  id: string | null;
}

const asId = (value: unknown) =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : null;

const field = (source: unknown, name: string) =>
  source && typeof source === 'object' ? (source as Record<string, unknown>)[name] : undefined;

/**
 * The resource a mutation acts on: the last id parameter of the route pattern
 * (`/api/keys/:key_id/rotate` → key), else the collection (`/api/teams/create` → team) with its
 * id from the response or the body.
 */
export function auditTarget(
  route: string,
  params: Record<string, string>,
  body: unknown,
  response: unknown,
): AuditTarget {
  const named = [...route.matchAll(/:(\w+)/g)].map((m) => m[1]).filter((p) => p in PARAM_TARGETS);
  const last = named[named.length - 1];
  if (last) return { type: PARAM_TARGETS[last], id: params[last] ?? null };
  const segment = route.split('/').filter(Boolean)[1] ?? '';
  const type = SEGMENT_TARGETS[segment] ?? null;
  if (!type) return { type: null, id: null };
  const idField = ID_FIELDS[type];
  return { type, id: asId(field(response, idField)) ?? asId(field(body, idField)) };
}
