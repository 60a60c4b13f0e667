import type {
  ModelDeployment,
  ModelGroup,
  Organization,
  ProviderCredential,
  Team,
  VirtualKey,
} from '@app/client';
import {
  dotted,
  type Diagnostic,
  KINDS,
  type Kind,
  type Path,
  type Resource,
} from './manifest/kinds';

/** What the admin API holds, as far as the file's resources and scope need. */
export interface Snapshot {
  organizations: Organization[];
  /** The declared teams (any organization, deleted too) and the live teams of declared orgs. */
  teams: Team[];
  /** The keys of the declared teams that exist. */
  keys: VirtualKey[];
  credentials: ProviderCredential[];
  models: ModelDeployment[];
  groups: ModelGroup[];
}

export type Op = 'create' | 'update' | 'delete' | 'unchanged';

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
  /** A secret: printed as "(changed)", never its value. */
  secret?: boolean;
}

export interface Step {
  kind: Kind;
  /** `Team/eng`, `VirtualKey/eng/app` (team/alias), `ModelDeployment/demo-mock`. */
  label: string;
  op: Op;
  changes: FieldChange[];
  /** The declared resource (create, update, unchanged). */
  resource?: Resource;
  /** The server's object (update, delete, unchanged). */
  current?: unknown;
}

export interface Plan {
  steps: Step[];
  /** Changes the API cannot make; apply leaves them and says so. */
  warnings: string[];
}

export interface PlanOptions {
  prune: boolean;
  env: NodeJS.ProcessEnv;
}

export class PlanError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super('the file does not fit the server');
  }
}

/** Fields that identify a resource or are given only at creation: never compared. */
const NOT_COMPARED: Record<Kind, string[]> = {
  Organization: [],
  ProviderCredential: ['organization_id', 'provider', 'api_key_env', 'api_base'],
  ModelDeployment: ['model_name', 'provider', 'provider_model', 'api_base', 'credential'],
  ModelGroup: ['description'],
  Team: ['organization_id', 'credits_allocated', 'model_groups'],
  VirtualKey: ['team_id', 'key_alias', 'duration', 'models'],
};

/** JSON with object keys in order: equal values compare equal whatever realm built them. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
export const sameValue = (a: unknown, b: unknown) => canonical(a ?? null) === canonical(b ?? null);

const sorted = (values: unknown) => [...((values as string[] | null) ?? [])].sort();

/** A key's alias: spec.key_alias, else metadata.name. */
export const keyAlias = (r: Resource) => (r.spec.key_alias as string | undefined) ?? r.name;
export const credentialOrg = (r: Resource) => (r.spec.organization_id as string | null) ?? null;
export const deploymentIdentity = (d: {
  model_name?: unknown;
  provider?: unknown;
  provider_model?: unknown;
  api_base?: unknown;
}) =>
  JSON.stringify([
    d.model_name,
    d.provider,
    d.provider_model,
    (d.api_base as string | null) ?? null,
  ]);
const last4 = (secret: string) => secret.slice(-4);

/** The fields of `spec` (less `skip`) whose value differs from `current`'s. */
function fieldChanges(
  spec: Record<string, unknown>,
  current: object,
  skip: string[],
): FieldChange[] {
  const now = current as Record<string, unknown>;
  const changes: FieldChange[] = [];
  for (const [field, to] of Object.entries(spec)) {
    if (skip.includes(field)) continue;
    const from = now[field] ?? null;
    if (!sameValue(from, to)) changes.push({ field, from, to });
  }
  return changes;
}

/**
 * The plan: each declared resource as create / update / unchanged (with its field changes), and
 * with `prune` what the file's scope holds that the file no longer names as delete. Scope (what
 * the CLI manages): the organizations the file declares; inside them every team and every
 * organization-owned credential; inside the declared teams every active key; and the deployments
 * of the model names the file declares. Shared credentials, other model names and model groups
 * are global catalog entries that may be managed elsewhere: never pruned. Throws PlanError for
 * references that resolve neither in the file nor on the server, and for changes the API refuses.
 */
export function computePlan(resources: Resource[], snapshot: Snapshot, options: PlanOptions): Plan {
  const diagnostics: Diagnostic[] = [];
  const warnings: string[] = [];
  const steps: Step[] = [];
  const report = (r: Resource, path: Path, message: string) =>
    diagnostics.push({ line: r.line(path), message });
  const of = (kind: Kind) => resources.filter((r) => r.kind === kind);
  const declared = (kind: Kind, name: string) => of(kind).some((r) => r.name === name);
  const push = (step: Step) => steps.push(step);
  const diffStep = (
    kind: Kind,
    label: string,
    r: Resource,
    current: object,
    changes: FieldChange[],
  ) =>
    push({
      kind,
      label,
      op: changes.length ? 'update' : 'unchanged',
      changes,
      resource: r,
      current,
    });

  // Organizations: create only (the API has no update for them).
  const orgIds = new Set(snapshot.organizations.map((o) => o.organization_id));
  const orgExists = (id: string) => declared('Organization', id) || orgIds.has(id);
  for (const r of of('Organization')) {
    const current = snapshot.organizations.find((o) => o.organization_id === r.name);
    const label = `Organization/${r.name}`;
    if (!current) {
      push({ kind: 'Organization', label, op: 'create', changes: [], resource: r });
      continue;
    }
    const drift = fieldChanges({ name: r.spec.name ?? r.name, ...r.spec }, current, []);
    for (const c of drift) {
      warnings.push(
        `${label}: ${c.field} differs on the server; organizations cannot be updated through the API, left as is`,
      );
    }
    push({ kind: 'Organization', label, op: 'unchanged', changes: [], resource: r, current });
  }

  // Provider credentials: identity (organization_id, credential_name = metadata.name).
  for (const r of of('ProviderCredential')) {
    const org = credentialOrg(r);
    if (org !== null && !orgExists(org)) {
      report(
        r,
        ['spec', 'organization_id'],
        `spec.organization_id: organization "${org}" is neither in this file nor on the server`,
      );
    }
    const label = `ProviderCredential/${r.name}`;
    const current = snapshot.credentials.find(
      (c) => c.credential_name === r.name && (c.organization_id ?? null) === org,
    );
    if (!current) {
      push({ kind: 'ProviderCredential', label, op: 'create', changes: [], resource: r });
      continue;
    }
    if (current.provider !== r.spec.provider) {
      report(
        r,
        ['spec', 'provider'],
        `spec.provider: ${label} is a ${current.provider} credential on the server; a credential's provider cannot change (rename it to create a new one)`,
      );
    }
    const changes = fieldChanges(r.spec, current, NOT_COMPARED.ProviderCredential);
    if ('api_base' in r.spec && (r.spec.api_base ?? null) !== (current.api_base ?? null)) {
      changes.push({ field: 'api_base', from: current.api_base, to: r.spec.api_base });
    }
    const envName = r.spec.api_key_env as string | undefined;
    const secret = envName ? options.env[envName] : undefined;
    // The API shows only the key's last 4 characters: a new secret with the same tail is not seen.
    if (secret && (!current.has_api_key || current.masked_api_key !== `…${last4(secret)}`)) {
      changes.push({ field: 'api_key', from: null, to: `$${envName}`, secret: true });
    }
    diffStep('ProviderCredential', label, r, current, changes);
  }

  // Model deployments: identity (model_name, provider, provider_model, api_base).
  const credentialOf = (r: Resource): { declared?: Resource; current?: ProviderCredential } => {
    const name = r.spec.credential as string | undefined;
    if (name === undefined) return {};
    const inFile = of('ProviderCredential').find((c) => c.name === name);
    if (inFile) {
      return {
        declared: inFile,
        current: snapshot.credentials.find(
          (c) =>
            c.credential_name === name && (c.organization_id ?? null) === credentialOrg(inFile),
        ),
      };
    }
    const onServer = snapshot.credentials.filter((c) => c.credential_name === name);
    if (onServer.length === 1) return { current: onServer[0] };
    report(
      r,
      ['spec', 'credential'],
      onServer.length === 0
        ? `spec.credential: credential "${name}" is neither in this file nor on the server`
        : `spec.credential: ${onServer.length} credentials on the server are named "${name}": declare it in this file to say which`,
    );
    return {};
  };
  const seenDeployments = new Map<string, Resource>();
  for (const r of of('ModelDeployment')) {
    const identity = deploymentIdentity(r.spec);
    const twin = seenDeployments.get(identity);
    if (twin) {
      report(
        r,
        ['metadata', 'name'],
        `ModelDeployment/${r.name} has the same model_name, provider, provider_model and api_base as ModelDeployment/${twin.name} (line ${twin.line()})`,
      );
    }
    seenDeployments.set(identity, r);
    const credential = credentialOf(r);
    const label = `ModelDeployment/${r.name}`;
    const current = snapshot.models.find((m) => deploymentIdentity(m) === identity);
    if (!current) {
      push({ kind: 'ModelDeployment', label, op: 'create', changes: [], resource: r });
      continue;
    }
    const changes = fieldChanges(r.spec, current, NOT_COMPARED.ModelDeployment);
    if (
      r.spec.credential !== undefined &&
      credential.current?.credential_id !== current.credential_id
    ) {
      changes.push({ field: 'credential', from: current.credential_id, to: r.spec.credential });
    }
    diffStep('ModelDeployment', label, r, current, changes);
  }

  // Model groups: identity group_name; their models must be deployed (in the file or already).
  const modelNames = new Set([
    ...of('ModelDeployment').map((r) => r.spec.model_name as string),
    ...snapshot.models.map((m) => m.model_name),
  ]);
  const groupNames = new Set(snapshot.groups.map((g) => g.group_name));
  for (const r of of('ModelGroup')) {
    const models = (r.spec.models as string[]) ?? [];
    models.forEach((model, i) => {
      if (!modelNames.has(model)) {
        report(
          r,
          ['spec', 'models', i],
          `${dotted(['spec', 'models', i])}: model "${model}" has no deployment in this file or on the server`,
        );
      }
    });
    const label = `ModelGroup/${r.name}`;
    const current = snapshot.groups.find((g) => g.group_name === r.name);
    if (!current) {
      push({ kind: 'ModelGroup', label, op: 'create', changes: [], resource: r });
      continue;
    }
    const changes = fieldChanges(r.spec, current, NOT_COMPARED.ModelGroup);
    if ('description' in r.spec && (r.spec.description ?? null) !== (current.description ?? null)) {
      warnings.push(
        `${label}: description differs on the server; a group's description cannot be updated through the API, left as is`,
      );
    }
    diffStep('ModelGroup', label, r, current, changes);
  }

  // Teams: identity team_id (unique across organizations).
  for (const r of of('Team')) {
    const org = r.spec.organization_id as string;
    if (!orgExists(org)) {
      report(
        r,
        ['spec', 'organization_id'],
        `spec.organization_id: organization "${org}" is neither in this file nor on the server`,
      );
    }
    const groups = (r.spec.model_groups as string[] | undefined) ?? [];
    groups.forEach((group, i) => {
      if (!declared('ModelGroup', group) && !groupNames.has(group)) {
        report(
          r,
          ['spec', 'model_groups', i],
          `spec.model_groups[${i}]: model group "${group}" is neither in this file nor on the server`,
        );
      }
    });
    const label = `Team/${r.name}`;
    const current = snapshot.teams.find((t) => t.team_id === r.name);
    if (!current) {
      push({ kind: 'Team', label, op: 'create', changes: [], resource: r });
      continue;
    }
    if (current.status === 'deleted') {
      report(
        r,
        ['metadata', 'name'],
        `${label} was deleted on the server; a deleted team's id cannot be used again`,
      );
    } else if (current.organization_id !== org) {
      report(
        r,
        ['spec', 'organization_id'],
        `spec.organization_id: ${label} belongs to organization "${current.organization_id}" on the server; a team cannot move`,
      );
    }
    const changes = fieldChanges(r.spec, current, NOT_COMPARED.Team);
    if (
      'model_groups' in r.spec &&
      !sameValue(sorted(r.spec.model_groups), sorted(current.model_groups))
    ) {
      changes.push({ field: 'model_groups', from: current.model_groups, to: r.spec.model_groups });
    }
    diffStep('Team', label, r, current, changes);
  }

  // Virtual keys: identity (team_id, key_alias); only active keys that were not rotated away.
  const liveKeys = snapshot.keys.filter((k) => k.status === 'active' && !k.rotated_to);
  const seenKeys = new Map<string, Resource>();
  for (const r of of('VirtualKey')) {
    const team = r.spec.team_id as string;
    const alias = keyAlias(r);
    const teamOnServer = snapshot.teams.find((t) => t.team_id === team && t.status !== 'deleted');
    if (!declared('Team', team) && !teamOnServer) {
      report(
        r,
        ['spec', 'team_id'],
        `spec.team_id: team "${team}" is neither in this file nor on the server`,
      );
    }
    const label = `VirtualKey/${team}/${alias}`;
    const twin = seenKeys.get(`${team}/${alias}`);
    if (twin)
      report(
        r,
        ['metadata', 'name'],
        `${label} is declared twice (VirtualKey/${twin.name}, line ${twin.line()})`,
      );
    seenKeys.set(`${team}/${alias}`, r);
    const current = liveKeys.find((k) => k.team_id === team && k.key_alias === alias);
    if (!current) {
      push({ kind: 'VirtualKey', label, op: 'create', changes: [], resource: r });
      continue;
    }
    const changes = fieldChanges(r.spec, current, NOT_COMPARED.VirtualKey);
    if ('models' in r.spec && !sameValue(sorted(r.spec.models), sorted(current.models))) {
      changes.push({ field: 'models', from: current.models, to: r.spec.models });
    }
    diffStep('VirtualKey', label, r, current, changes);
  }

  if (diagnostics.length > 0) throw new PlanError(diagnostics);
  if (options.prune) steps.push(...pruneSteps(resources, snapshot, liveKeys));
  return { steps, warnings };
}

/** What the file's scope holds and the file does not name (see computePlan). */
function pruneSteps(resources: Resource[], snapshot: Snapshot, liveKeys: VirtualKey[]): Step[] {
  const names = (kind: Kind) =>
    new Set(resources.filter((r) => r.kind === kind).map((r) => r.name));
  const orgs = names('Organization');
  const teams = names('Team');
  const credentials = resources.filter((r) => r.kind === 'ProviderCredential');
  const deployments = resources.filter((r) => r.kind === 'ModelDeployment');
  const keys = new Set(
    resources
      .filter((r) => r.kind === 'VirtualKey')
      .map((r) => `${r.spec.team_id as string}/${keyAlias(r)}`),
  );
  const steps: Step[] = [];
  const del = (kind: Kind, label: string, current: unknown) =>
    steps.push({ kind, label, op: 'delete', changes: [], current });

  for (const key of liveKeys) {
    if (teams.has(key.team_id) && !keys.has(`${key.team_id}/${key.key_alias ?? ''}`)) {
      del('VirtualKey', `VirtualKey/${key.team_id}/${key.key_alias ?? key.key_id}`, key);
    }
  }
  for (const team of snapshot.teams) {
    if (team.status !== 'deleted' && orgs.has(team.organization_id) && !teams.has(team.team_id)) {
      del('Team', `Team/${team.team_id}`, team);
    }
  }
  const modelNames = new Set(deployments.map((r) => r.spec.model_name));
  const declaredDeployments = new Set(deployments.map((r) => deploymentIdentity(r.spec)));
  for (const model of snapshot.models) {
    if (modelNames.has(model.model_name) && !declaredDeployments.has(deploymentIdentity(model))) {
      del(
        'ModelDeployment',
        `ModelDeployment/${model.model_name} (${model.provider}/${model.provider_model}, ${model.model_id})`,
        model,
      );
    }
  }
  for (const c of snapshot.credentials) {
    if (c.organization_id === null || !orgs.has(c.organization_id)) continue;
    const kept = credentials.some(
      (r) => r.name === c.credential_name && credentialOrg(r) === c.organization_id,
    );
    if (!kept)
      del(
        'ProviderCredential',
        `ProviderCredential/${c.credential_name} (${c.organization_id})`,
        c,
      );
  }
  return steps;
}

/** Creates and updates in dependency order, then deletes in reverse. */
export function orderSteps(steps: Step[]): Step[] {
  const rank = (s: Step) =>
    s.op === 'delete' ? 100 + (KINDS.length - KINDS.indexOf(s.kind)) : KINDS.indexOf(s.kind);
  return [...steps].sort((a, b) => rank(a) - rank(b));
}

export function countOps(plan: Plan): Record<Op, number> {
  const counts: Record<Op, number> = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const step of plan.steps) counts[step.op] += 1;
  return counts;
}
