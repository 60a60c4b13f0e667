import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run } from '../src/cli';
import { createGatewayClient, unwrap } from '@app/client';
import {
  MASTER_KEY,
  type RunningApp,
  startAdmin,
  startGateway,
  uid,
} from '../../../test/helpers/apps';
import { builtMain } from '../../../test/helpers/build';
import { call } from '../../../test/helpers/http';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** `METHOD /path` of every request the CLI sent. */
  requests: string[];
}

const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
let admin: RunningApp;

/** Runs the CLI in process against the real admin API, recording the requests it sends. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const out = { stdout: '', stderr: '' };
  const requests: string[] = [];
  const recording: typeof fetch = (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    return fetch(request);
  };
  const code = await run(args, {
    stdout: (s) => (out.stdout += s),
    stderr: (s) => (out.stderr += s),
    env: { TOLLGATE_ADMIN_URL: admin.url, TOLLGATE_ADMIN_KEY: MASTER_KEY, ...env },
    cwd: dir,
    fetch: recording,
  });
  return { code, ...out, requests };
}

const writes = (r: Result) => r.requests.filter((line) => !line.startsWith('GET '));

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

interface Ids {
  org: string;
  team: string;
  team2: string;
  model: string;
  group: string;
}

/** A file like examples/tollgate.yaml with unique ids; `extra` documents are appended. */
function manifest(
  ids: Ids,
  options: { budgetMode?: string; maxBudget?: number; withTeam2?: boolean } = {},
) {
  const docs = [
    `kind: Organization
metadata:
  name: ${ids.org}
spec:
  name: Acme`,
    `kind: ModelDeployment
metadata:
  name: ${ids.model}-mock
spec:
  model_name: ${ids.model}
  provider: mock
  provider_model: mock-1
  input_price_per_million: 1
  output_price_per_million: 2`,
    `kind: ModelGroup
metadata:
  name: ${ids.group}
spec:
  models: [${ids.model}]`,
    `kind: Team
metadata:
  name: ${ids.team}
spec:
  organization_id: ${ids.org}
  team_alias: Engineering
  model_groups: [${ids.group}]
  budget_mode: ${options.budgetMode ?? 'job_based'}
  credits_allocated: 100`,
    `kind: VirtualKey
metadata:
  name: app
spec:
  team_id: ${ids.team}
  models: [${ids.group}]
  max_budget: ${options.maxBudget ?? 50}
  budget_duration: 30d`,
  ];
  if (options.withTeam2 ?? true) {
    docs.push(
      `kind: Team
metadata:
  name: ${ids.team2}
spec:
  organization_id: ${ids.org}
  model_groups: [${ids.group}]`,
      `kind: VirtualKey
metadata:
  name: batch
spec:
  team_id: ${ids.team}`,
    );
  }
  return docs.map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`).join('---\n');
}

const newIds = (): Ids => ({
  org: uid('org'),
  team: uid('team'),
  team2: uid('team2'),
  model: uid('model'),
  group: uid('group'),
});

async function keysOf(team: string) {
  const res = await call(admin.url, 'GET', `/api/teams/${team}/keys`, { admin: true });
  return (
    res.body.data as Array<{ key_alias: string; status: string; max_budget: number | null }>
  ).filter((k) => k.status === 'active');
}

beforeAll(async () => {
  admin = await startAdmin();
});
afterAll(async () => {
  await admin?.close();
});

describe('tollgate apply', () => {
  it('creates everything, prints new keys once, and a second apply changes nothing', async () => {
    const ids = newIds();
    const file = write(`${ids.org}.yaml`, manifest(ids));

    const first = await cli(['apply', '-f', file]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Plan: 7 to create, 0 to update, 0 to delete, 0 unchanged.');
    expect(first.stdout).toContain(`+ Team/${ids.team} (create)`);
    const printed = first.stdout.match(/sk-[A-Za-z0-9]{32,}/g) ?? [];
    expect(printed).toHaveLength(2); // app and batch, each once

    const team = await call(admin.url, 'GET', `/api/teams/${ids.team}`, { admin: true });
    expect(team.body).toMatchObject({
      organization_id: ids.org,
      team_alias: 'Engineering',
      model_groups: [ids.group],
      budget_mode: 'job_based',
      credits_allocated: 100,
    });
    // The team has exactly the declared keys (its automatic first key was revoked).
    expect((await keysOf(ids.team)).map((k) => k.key_alias).sort()).toEqual(['app', 'batch']);
    expect(await keysOf(ids.team2)).toEqual([]);
    const group = await call(admin.url, 'GET', `/api/model-groups/${ids.group}`, { admin: true });
    expect(group.body.models).toEqual([ids.model]);
    // A printed key authenticates: the admin API knows it by its masked form.
    const app = (await keysOf(ids.team)).find((k) => k.key_alias === 'app');
    expect(app?.max_budget).toBe(50);

    const second = await cli(['apply', '-f', file]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Plan: 0 changes (7 unchanged).');
    expect(second.stdout).not.toMatch(/sk-[A-Za-z0-9]{32,}/);
    expect(writes(second)).toEqual([]);
  });

  it('--dry-run prints the field changes and changes nothing; apply then makes them', async () => {
    const ids = newIds();
    const file = write(`${ids.org}.yaml`, manifest(ids));
    expect((await cli(['apply', '-f', file])).code).toBe(0);

    write(file, manifest(ids, { budgetMode: 'consumption_usd', maxBudget: 75 }));
    const dry = await cli(['apply', '-f', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Plan: 0 to create, 2 to update, 0 to delete, 5 unchanged.');
    expect(dry.stdout).toContain('budget_mode: "job_based" → "consumption_usd"');
    expect(dry.stdout).toContain('max_budget: 50 → 75');
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(writes(dry)).toEqual([]);
    const team = await call(admin.url, 'GET', `/api/teams/${ids.team}`, { admin: true });
    expect(team.body.budget_mode).toBe('job_based');

    const applied = await cli(['apply', '-f', file]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`updated Team/${ids.team}`);
    expect(
      (await call(admin.url, 'GET', `/api/teams/${ids.team}`, { admin: true })).body.budget_mode,
    ).toBe('consumption_usd');
    expect((await keysOf(ids.team)).find((k) => k.key_alias === 'app')?.max_budget).toBe(75);
    expect((await cli(['apply', '-f', file])).stdout).toContain('Plan: 0 changes');
  });

  it('--prune deletes the team and key the file no longer names, within its organizations only', async () => {
    const ids = newIds();
    const other = newIds();
    const file = write(`${ids.org}.yaml`, manifest(ids));
    const otherFile = write(`${other.org}.yaml`, manifest(other));
    expect((await cli(['apply', '-f', file])).code).toBe(0);
    expect((await cli(['apply', '-f', otherFile])).code).toBe(0);

    write(file, manifest(ids, { withTeam2: false })); // drops team2 and the batch key
    const withoutPrune = await cli(['apply', '-f', file]);
    expect(withoutPrune.stdout).toContain('Plan: 0 changes');

    const pruned = await cli(['apply', '-f', file, '--prune']);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('Plan: 0 to create, 0 to update, 2 to delete, 5 unchanged.');
    expect(pruned.stdout).toContain(`- Team/${ids.team2} (delete)`);
    expect(pruned.stdout).toContain(`- VirtualKey/${ids.team}/batch (delete)`);
    expect(
      (await call(admin.url, 'GET', `/api/teams/${ids.team2}`, { admin: true })).body.status,
    ).toBe('deleted');
    expect((await keysOf(ids.team)).map((k) => k.key_alias)).toEqual(['app']);
    // Another organization's resources are outside this file's scope.
    expect(
      (await call(admin.url, 'GET', `/api/teams/${other.team2}`, { admin: true })).body.status,
    ).toBe('active');
    expect((await keysOf(other.team)).map((k) => k.key_alias).sort()).toEqual(['app', 'batch']);
    expect(writes(await cli(['apply', '-f', file, '--prune']))).toEqual([]);
  });

  it('--output-keys writes new keys with mode 0600 and prints none', async () => {
    const ids = newIds();
    const file = write(`${ids.org}.yaml`, manifest(ids));
    const result = await cli(['apply', '-f', file, '--output-keys', `${ids.org}.keys.json`]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/sk-[A-Za-z0-9]{32,}/);
    expect(result.stdout).toContain(`Wrote 2 new key(s) to ${ids.org}.keys.json (mode 0600)`);
    const path = join(dir, `${ids.org}.keys.json`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = JSON.parse(readFileSync(path, 'utf8')) as {
      keys: Array<{ key_alias: string; virtual_key: string }>;
    };
    expect(written.keys.map((k) => k.key_alias).sort()).toEqual(['app', 'batch']);
    // The written key works: the admin API's masked form of the key matches it.
    const masked = (await call(admin.url, 'GET', `/api/teams/${ids.team}/keys`, { admin: true }))
      .body.data as Array<{
      key_alias: string;
      masked_key: string;
    }>;
    const app = written.keys.find((k) => k.key_alias === 'app')!;
    expect(masked.find((k) => k.key_alias === 'app')?.masked_key.slice(0, 6)).toBe(
      app.virtual_key.slice(0, 6),
    );
  });
});

describe('examples/tollgate.yaml and credentials', () => {
  it('provisions the README demo idempotently, and its key calls the gateway', async () => {
    const example = join(__dirname, '../../../examples/tollgate.yaml');
    const first = await cli(['apply', '-f', example]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('Plan: 5 to create, 0 to update, 0 to delete, 0 unchanged.');
    const [key] = first.stdout.match(/sk-[A-Za-z0-9]{32,}/g) ?? [];
    expect(key).toBeDefined();
    const second = await cli(['apply', '-f', example]);
    expect(second.stdout).toContain('Plan: 0 changes (5 unchanged).');
    expect(writes(second)).toEqual([]);

    const gateway = await startGateway();
    try {
      const client = createGatewayClient({ baseUrl: gateway.url, apiKey: key! });
      const answer = await unwrap<{ choices: Array<{ message: { content: string } }> }>(
        client.POST('/v1/chat/completions', {
          body: { model: 'basic', messages: [{ role: 'user', content: 'hello' as never }] },
        }),
      );
      expect(answer.choices[0].message.content.length).toBeGreaterThan(0);
    } finally {
      await gateway.close();
    }
  });

  it("reads a credential's secret from the environment, links the deployment, sees a new secret", async () => {
    const ids = newIds();
    const env = `TOLLGATE_E2E_${ids.org.replace(/-/g, '_').toUpperCase()}`;
    const text = `kind: Organization
metadata: { name: ${ids.org} }
---
kind: ProviderCredential
metadata: { name: ${ids.org}-openai }
spec: { organization_id: ${ids.org}, provider: openai, api_key_env: ${env} }
---
kind: ModelDeployment
metadata: { name: ${ids.model} }
spec:
  model_name: ${ids.model}
  provider: openai
  provider_model: gpt-4o-mini
  credential: ${ids.org}-openai
  input_price_per_million: 0.15
  output_price_per_million: 0.6
`;
    const file = write(`${ids.org}-cred.yaml`, text);
    const secret = 'sk-proj-first-secret-1111';
    const first = await cli(['apply', '-f', file], { [env]: secret });
    expect(first.code).toBe(0);
    expect(first.stdout + first.stderr).not.toContain(secret);
    const creds = await call(
      admin.url,
      'GET',
      `/api/provider-credentials?organization_id=${ids.org}`,
      { admin: true },
    );
    const [credential] = creds.body.data as Array<{
      credential_id: string;
      masked_api_key: string;
    }>;
    expect(credential.masked_api_key).toBe('…1111');
    const models = await call(admin.url, 'GET', `/api/models?model_name=${ids.model}`, {
      admin: true,
    });
    expect(models.body.data[0].credential_id).toBe(credential.credential_id);

    expect((await cli(['apply', '-f', file], { [env]: secret })).stdout).toContain(
      'Plan: 0 changes',
    );
    const rotated = 'sk-proj-second-secret-2222';
    const changed = await cli(['apply', '-f', file], { [env]: rotated });
    expect(changed.stdout).toContain(`api_key: (secret from $${env} changed)`);
    expect(changed.stdout + changed.stderr).not.toContain(rotated);
    const after = await call(
      admin.url,
      'GET',
      `/api/provider-credentials/${credential.credential_id}`,
      { admin: true },
    );
    expect(after.body.masked_api_key).toBe('…2222');
  });
});

describe('tollgate apply: a file with an error changes nothing', () => {
  const invalid = (ids: Ids, from: string, to: string) => manifest(ids).replace(from, to);

  it('a bad enum: names the line, sends no request', async () => {
    const ids = newIds();
    const text = invalid(ids, 'budget_mode: job_based', 'budget_mode: per_call');
    const line = text.split('\n').findIndex((l) => l.includes('budget_mode: per_call')) + 1;
    const file = write(`${ids.org}-enum.yaml`, text);
    const result = await cli(['apply', '-f', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:${line}: spec.budget_mode must be one of job_based, consumption_usd, consumption_tokens`,
    );
    expect(result.stderr).toContain('Nothing was changed');
    expect(result.requests).toEqual([]);
  });

  it('a dangling reference: names the line, writes nothing', async () => {
    const ids = newIds();
    const text = invalid(
      ids,
      `  team_id: ${ids.team}\n  models`,
      `  team_id: nowhere-${ids.team}\n  models`,
    );
    const line = text.split('\n').findIndex((l) => l.includes(`team_id: nowhere-`)) + 1;
    const file = write(`${ids.org}-ref.yaml`, text);
    const result = await cli(['apply', '-f', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:${line}: spec.team_id: team "nowhere-${ids.team}" is neither in this file nor on the server`,
    );
    expect(writes(result)).toEqual([]);
    expect(
      (await call(admin.url, 'GET', `/api/organizations/${ids.org}`, { admin: true })).status,
    ).toBe(404);
  });

  it('a missing environment variable, an unknown field and a literal secret: every line named', async () => {
    const ids = newIds();
    const text =
      manifest(ids) +
      `---
kind: ProviderCredential
metadata:
  name: ${ids.org}-openai
spec:
  organization_id: ${ids.org}
  provider: openai
  api_key_env: TOLLGATE_TEST_UNSET_${ids.org.replace(/-/g, '_').toUpperCase()}
---
kind: ProviderCredential
metadata:
  name: ${ids.org}-literal
spec:
  provider: openai
  api_key: sk-live-secret
  colour: blue
`;
    const lines = text.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const file = write(`${ids.org}-env.yaml`, text);
    const result = await cli(['apply', '-f', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:${at('api_key_env:')}: spec.api_key_env: environment variable`,
    );
    expect(result.stderr).toContain(
      `${file}:${at('api_key: sk-live')}: spec.api_key is not allowed`,
    );
    expect(result.stderr).toContain(`${file}:${at('colour:')}: spec.colour is not allowed`);
    expect(result.stderr).not.toContain('sk-live-secret');
    expect(result.requests).toEqual([]);
  });
});

describe('tollgate get, credits, keys', () => {
  const ids = newIds();
  beforeAll(async () => {
    expect((await cli(['apply', '-f', write(`${ids.org}.yaml`, manifest(ids))])).code).toBe(0);
  });

  it('get teams|keys|models|groups as json and as a table, never a key', async () => {
    const teams = await cli(['get', 'teams', '--org', ids.org, '-o', 'json']);
    expect(teams.code).toBe(0);
    expect(
      (JSON.parse(teams.stdout) as Array<{ team_id: string }>).map((t) => t.team_id).sort(),
    ).toEqual([ids.team, ids.team2].sort());
    const keys = await cli(['get', 'keys', '--team', ids.team]);
    expect(keys.stdout).toMatch(/^KEY_ID\s+TEAM_ID\s+KEY_ALIAS\s+MASKED_KEY/);
    expect(keys.stdout).toContain(' app ');
    expect(keys.stdout).not.toMatch(/sk-[A-Za-z0-9]{32,}/);
    expect((await cli(['get', 'models', '-o', 'json'])).stdout).toContain(
      `"model_name": "${ids.model}"`,
    );
    expect((await cli(['get', 'groups'])).stdout).toContain(ids.group);
    expect((await cli(['get', 'widgets'])).code).toBe(2);
  });

  it('credits add writes a ledger row; an API error shows its detail', async () => {
    const added = await cli(['credits', 'add', ids.team, '25', '--reason', 'top-up']);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`Added 25 credits to ${ids.team}: 125 remaining.`);
    const ledger = await call(admin.url, 'GET', `/api/credits/teams/${ids.team}/transactions`, {
      admin: true,
    });
    expect(ledger.body.data[0]).toMatchObject({ credits_amount: 25, reason: 'top-up' });

    const missing = await cli(['credits', 'add', `nope-${ids.team}`, '5', '--reason', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/admin API answered 404 \S+: .*not found/i);
    expect((await cli(['credits', 'add', ids.team, '-3', '--reason', 'x'])).code).toBe(2);
  });

  it('keys rotate by alias shows the new key once; keys revoke by alias revokes it', async () => {
    const rotated = await cli(['keys', 'rotate', 'batch', '--team', ids.team]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.match(/sk-[A-Za-z0-9]{32,}/g)).toHaveLength(1);
    expect((await keysOf(ids.team)).map((k) => k.key_alias).sort()).toEqual(['app', 'batch']);

    const revoked = await cli(['keys', 'revoke', 'batch', '--team', ids.team]);
    expect(revoked.code).toBe(0);
    expect((await keysOf(ids.team)).map((k) => k.key_alias)).toEqual(['app']);
    const again = await cli(['keys', 'revoke', 'batch', '--team', ids.team]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('no active key with id or alias "batch"');
  });

  it('runs as `tollgate` from the built bin, with settings from the environment', async () => {
    builtMain('cli');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '../../../bin/tollgate.js'), 'get', 'teams', '--org', ids.org, '-o', 'json'],
      { env: { ...process.env, TOLLGATE_ADMIN_URL: admin.url, TOLLGATE_ADMIN_KEY: MASTER_KEY } },
    );
    expect(stdout).toContain(`"team_id": "${ids.team}"`);
    const failed = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '../../../bin/tollgate.js'), 'get', 'teams'],
      {
        env: { ...process.env, TOLLGATE_ADMIN_URL: admin.url, TOLLGATE_ADMIN_KEY: 'wrong' },
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain('401');
  }, 300_000); // builds the CLI when dist is older than its sources (CI builds it first)
});
