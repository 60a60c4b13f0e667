import type { VirtualKey } from '@app/client';
import { loadManifest } from './manifest/load';
import { computePlan, countOps, orderSteps, PlanError, type Snapshot } from './plan';

const FILE = `kind: Organization
metadata: { name: acme }
spec: { name: Acme }
---
kind: ProviderCredential
metadata: { name: main }
spec: { organization_id: acme, provider: openai, api_key_env: OPENAI_KEY }
---
kind: ModelDeployment
metadata: { name: mini }
spec:
  model_name: mini
  provider: openai
  provider_model: gpt-4o-mini
  credential: main
  input_price_per_million: 0.15
  output_price_per_million: 0.6
---
kind: ModelGroup
metadata: { name: fast }
spec: { models: [mini] }
---
kind: Team
metadata: { name: eng }
spec:
  organization_id: acme
  model_groups: [fast]
  budget_mode: job_based
  credits_allocated: 100
---
kind: VirtualKey
metadata: { name: app }
spec: { team_id: eng, models: [fast], max_budget: 50 }
`;
const ENV = { OPENAI_KEY: 'sk-test-abcd' };
const resources = (text = FILE) => loadManifest('t.yaml', text, ENV);
const empty = (): Snapshot => ({
  organizations: [],
  teams: [],
  keys: [],
  credentials: [],
  models: [],
  groups: [],
});
const stamp = { created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' };

/** The server as the first apply of FILE leaves it. */
function applied(): Snapshot {
  return {
    organizations: [{ organization_id: 'acme', name: 'Acme', metadata: {}, ...stamp }],
    credentials: [
      {
        credential_id: 'c1',
        organization_id: 'acme',
        provider: 'openai',
        credential_name: 'main',
        api_base: null,
        has_api_key: true,
        masked_api_key: '…abcd',
        is_active: true,
        ...stamp,
      },
    ],
    models: [
      {
        model_id: 'm1',
        model_name: 'mini',
        provider: 'openai',
        provider_model: 'gpt-4o-mini',
        credential_id: 'c1',
        api_base: null,
        input_price_per_million: 0.15,
        output_price_per_million: 0.6,
        weight: 1,
        status: 'active',
        ...stamp,
      },
    ],
    groups: [{ group_name: 'fast', description: null, models: ['mini'], ...stamp }],
    teams: [
      {
        team_id: 'eng',
        organization_id: 'acme',
        team_alias: null,
        status: 'active',
        model_groups: ['fast'],
        budget_mode: 'job_based',
        credits_per_dollar: 10,
        tokens_per_credit: 10000,
        cost_markup_percentage: 0,
        rpm_limit: null,
        tpm_limit: null,
        metadata: {},
        credits_allocated: 100,
        credits_used: 30,
        credits_held: 0,
        credits_remaining: 70,
        deleted_at: null,
        ...stamp,
      },
    ],
    keys: [
      {
        key_id: 'k1',
        team_id: 'eng',
        key_alias: 'app',
        status: 'active',
        models: ['fast'],
        max_budget: 50,
        budget_duration: null,
        rpm_limit: null,
        tpm_limit: null,
        metadata: {},
        rotated_to: null,
      } as VirtualKey,
    ],
  };
}

const summary = (snapshot: Snapshot, options = { prune: false }, text = FILE) =>
  orderSteps(computePlan(resources(text), snapshot, { ...options, env: ENV }).steps).map(
    (s) => `${s.op} ${s.label}${s.changes.map((c) => ` ${c.field}`).join('')}`,
  );

describe('computePlan', () => {
  it('creates everything on an empty server, in dependency order', () => {
    expect(summary(empty())).toEqual([
      'create Organization/acme',
      'create ProviderCredential/main',
      'create ModelDeployment/mini',
      'create ModelGroup/fast',
      'create Team/eng',
      'create VirtualKey/eng/app',
    ]);
  });

  it('finds nothing to do once applied (credits spent since do not count)', () => {
    const plan = computePlan(resources(), applied(), { prune: true, env: ENV });
    expect(countOps(plan)).toEqual({ create: 0, update: 0, delete: 0, unchanged: 6 });
  });

  it("lists each changed field; order of a team's groups does not matter, of a group's models does", () => {
    const server = applied();
    server.teams[0].budget_mode = 'consumption_usd';
    server.teams[0].model_groups = ['fast'];
    server.models[0].input_price_per_million = 0.2;
    server.groups[0].models = ['other', 'mini'];
    server.keys[0].max_budget = 10;
    server.keys[0].models = ['fast'];
    expect(summary(server)).toEqual([
      'unchanged Organization/acme',
      'unchanged ProviderCredential/main',
      'update ModelDeployment/mini input_price_per_million',
      'update ModelGroup/fast models',
      'update Team/eng budget_mode',
      'update VirtualKey/eng/app max_budget',
    ]);
  });

  it('sees a new secret by its last four characters, and never carries the secret in the plan', () => {
    const server = applied();
    server.credentials[0].masked_api_key = '…zzzz';
    const plan = computePlan(resources(), server, { prune: false, env: ENV });
    const step = plan.steps.find((s) => s.kind === 'ProviderCredential')!;
    expect(step.changes).toEqual([
      { field: 'api_key', from: null, to: '$OPENAI_KEY', secret: true },
    ]);
    expect(JSON.stringify(plan.steps.map((s) => s.changes))).not.toContain('sk-test');
  });

  it("prunes only inside the file's scope", () => {
    const server = applied();
    const team = server.teams[0];
    server.teams.push(
      { ...team, team_id: 'old' },
      { ...team, team_id: 'elsewhere', organization_id: 'other' },
    );
    server.keys.push({ ...server.keys[0], key_id: 'k2', key_alias: 'legacy' });
    server.keys.push({
      ...server.keys[0],
      key_id: 'k3',
      key_alias: 'rotated-away',
      rotated_to: 'k4',
    });
    server.models.push({ ...server.models[0], model_id: 'm2', provider_model: 'gpt-4o-mini-old' });
    server.models.push({ ...server.models[0], model_id: 'm3', model_name: 'unrelated' });
    server.credentials.push({
      ...server.credentials[0],
      credential_id: 'c2',
      credential_name: 'stale',
    });
    server.credentials.push({
      ...server.credentials[0],
      credential_id: 'c3',
      organization_id: null,
      credential_name: 'shared',
    });
    expect(summary(server, { prune: false })).not.toContainEqual(expect.stringMatching(/^delete/));
    expect(summary(server, { prune: true }).filter((s) => s.startsWith('delete'))).toEqual([
      'delete VirtualKey/eng/legacy',
      'delete Team/old',
      'delete ModelDeployment/mini (openai/gpt-4o-mini-old, m2)',
      'delete ProviderCredential/stale (acme)',
    ]);
  });

  it('refuses references that resolve nowhere and changes the API cannot make, naming lines', () => {
    const text = FILE.replace('model_groups: [fast]', 'model_groups: [fast, missing]').replace(
      'spec: { models: [mini] }',
      'spec: { models: [mini, ghost] }',
    );
    const server = applied();
    server.teams[0].organization_id = 'other';
    let error: unknown;
    try {
      computePlan(resources(text), server, { prune: false, env: ENV });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).diagnostics.map((d) => `${d.line}: ${d.message}`)).toEqual([
      '21: spec.models[1]: model "ghost" has no deployment in this file or on the server',
      '27: spec.model_groups[1]: model group "missing" is neither in this file nor on the server',
      '26: spec.organization_id: Team/eng belongs to organization "other" on the server; a team cannot move',
    ]);
  });

  it("warns instead of planning what the API cannot update (an organization's name)", () => {
    const server = applied();
    server.organizations[0].name = 'Acme Inc';
    const plan = computePlan(resources(), server, { prune: false, env: ENV });
    expect(countOps(plan).update).toBe(0);
    expect(plan.warnings).toEqual([
      'Organization/acme: name differs on the server; organizations cannot be updated through the API, left as is',
    ]);
  });
});
