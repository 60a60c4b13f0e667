/**
 * Property/schema fuzzer over both committed OpenAPI documents (reliability issue, item 5).
 *
 *   FUZZ_REQUESTS  requests of the run, about (default 1200, ~1 min; the reliability run uses
 *                  10000): about 20 % stateful sequences (fast-check model-based commands), the
 *                  rest split evenly between admin-api and team-gateway (one request per case).
 *                  Each of the three tests has its share fixed up front and runs in any order.
 *   FUZZ_SEED      fast-check seed to replay a run (printed at the start and with every failure).
 *   FUZZ_SUMMARY_FILE  when set, the tallies are also written there as JSON.
 *
 * Every request carries valid auth (the master key on admin-api, a funded team's virtual key on the
 * gateway, whose deployments answer from the fake upstream). Paths, queries and bodies are
 * schema-valid or schema-violating (ids that exist, belong to another team or are malformed; huge,
 * negative and NaN-ish numbers; unicode edges; unknown and missing fields; malformed JSON). No
 * answer may be >= 500 and no stream may end in an error event; after each test both services are
 * ready and the books are exact (ledger sums to balances, no credits held but by open jobs).
 *
 * Run alone:
 *   FUZZ_REQUESTS=10000 npx jest --config jest.config.js --selectProjects e2e --runInBand test/fuzz
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import adminDoc from '../../openapi/admin-api.json';
import gatewayDoc from '../../openapi/team-gateway.json';
import { World } from '../../apps/team-gateway/test/gateway-fixtures';
import { uid } from '../helpers/apps';
import { call, eventually } from '../helpers/http';
import { describeRequest, FuzzRequest, FuzzResponse, send, Tally } from './fuzz-client';
import {
  bodyArb,
  encode,
  Hints,
  jsonObject,
  NAUGHTY_STRINGS,
  Operation,
  operations,
  paramValue,
} from './openapi-arbitraries';
import { CreateTeam, statefulCommands, StatefulContext, StatefulModel } from './stateful-commands';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1200);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
/** What one stateful run sends, on average (measured: 20-30 requests). */
const STATEFUL_REQUESTS_PER_RUN = 25;
/** Each test's share of the run, fixed up front so that the tests run in any order. */
const STATEFUL_RUNS = Math.max(1, Math.round((REQUESTS * 0.2) / STATEFUL_REQUESTS_PER_RUN));
const STATELESS_RUNS = Math.max(
  1,
  Math.ceil((REQUESTS - STATEFUL_RUNS * STATEFUL_REQUESTS_PER_RUN) / 2),
);

jest.setTimeout(Math.max(300_000, REQUESTS * 150));

/**
 * Ids that existed before the fuzz sandbox (the funded team, its key, models, groups, credential,
 * and other specs' rows): admin writes never target them, so the gateway keeps serving.
 */
const protectedIds = new Set<string>();

/** Pools of values the fixtures (and the fuzzer's own 2xx answers) make real. */
class Pool {
  readonly values: string[];
  constructor(...initial: string[]) {
    this.values = [...initial];
  }
  add(value: unknown): void {
    if (
      typeof value === 'string' &&
      value &&
      !protectedIds.has(value) &&
      !this.values.includes(value)
    ) {
      this.values.push(value);
      if (this.values.length > 200) this.values.splice(1, 1);
    }
  }
  arb(): fc.Arbitrary<string> {
    return fc.nat().map((i) => this.values[i % this.values.length]);
  }
}

const MALFORMED_IDS = [
  'not-a-uuid',
  '1',
  '-1',
  '0',
  'NaN',
  '00000000-0000-0000-0000-00000000000g',
  '{00000000-0000-0000-0000-000000000000}',
  '9223372036854775808',
  "x' OR '1'='1",
  '%2e%2e',
  '..',
  'ö',
  '🧨',
  'a'.repeat(300),
];

const naughtyPath = fc.oneof(
  fc.constantFrom(...MALFORMED_IDS),
  fc.constantFrom(...NAUGHTY_STRINGS),
  fc.uuid(),
);

/** An id that exists (weight 6), belongs to someone else (2) or is malformed / unknown (2). */
function idArb(own: Pool, other?: Pool): fc.Arbitrary<string> {
  const parts = [
    { weight: 6, arbitrary: own.arb() },
    { weight: 2, arbitrary: naughtyPath },
  ];
  if (other) parts.push({ weight: 2, arbitrary: other.arb() });
  return fc.oneof(...parts);
}

function requestArb(
  service: FuzzRequest['service'],
  op: Operation,
  pathHints: Hints,
  queryHints: Hints,
  bodyHints: Hints,
): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const query = op.params.filter((p) => p.in === 'query');
  const headers = op.params.filter((p) => p.in === 'header');
  return fc
    .record({
      path: fc.tuple(
        ...pathParams.map((p) => (pathHints[p.name] as fc.Arbitrary<string>) ?? naughtyPath),
      ),
      query: fc.tuple(...query.map((p) => fc.option(paramValue(p, queryHints), { freq: 2 }))),
      headers: fc.tuple(...headers.map((p) => fc.option(paramValue(p, queryHints), { freq: 2 }))),
      body: op.body ? fc.option(bodyArb(op.body, bodyHints), { freq: 20 }) : fc.constant(null),
    })
    .map(({ path, query: q, headers: h, body }) => {
      let concrete = op.path;
      pathParams.forEach((p, i) => {
        concrete = concrete.replace(`{${p.name}}`, encode(String(path[i])));
      });
      const search: string[] = [];
      query.forEach((p, i) => {
        const v = q[i];
        if (v === null) return;
        for (const one of Array.isArray(v) ? v : [v]) search.push(`${p.name}=${encode(one)}`);
      });
      const hdrs: Record<string, string> = {};
      headers.forEach((p, i) => {
        const v = h[i];
        if (v === null) return;
        const text = Array.isArray(v) ? v.join(',') : v;
        // fetch refuses header values with control characters or non-Latin-1 text
        if (/^[\x20-\x7e]*$/.test(text)) hdrs[p.name] = text;
      });
      const req: FuzzRequest = {
        service,
        method: op.method,
        route: op.path,
        path: concrete + (search.length ? `?${search.join('&')}` : ''),
        headers: hdrs,
      };
      if (body) req.body = body.kind === 'raw' ? body.raw : JSON.stringify(body.value);
      return req;
    });
}

/** What an OpenAI-style call body looks like, for the fields the documents type loosely. */
function callHints(models: Pool): Hints {
  const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 });
  return {
    model: fc.oneof({ weight: 6, arbitrary: models.arb() }, { weight: 1, arbitrary: naughtyPath }),
    messages: fc.array(
      fc.oneof(
        fc.record({ role: fc.constantFrom('user', 'system', 'developer'), content: text }),
        fc.record({
          role: fc.constant('user'),
          content: fc.array(fc.record({ type: fc.constant('text'), text }), {
            minLength: 1,
            maxLength: 2,
          }),
        }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    stop: fc.oneof(
      fc.string({ maxLength: 5 }),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
    ),
    tool_choice: fc.constantFrom('none', 'auto'),
    tools: fc.constant([
      {
        type: 'function',
        function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
      },
    ]),
    response_format: fc.constantFrom({ type: 'text' }, { type: 'json_object' }),
    logit_bias: fc.dictionary(
      fc.integer({ min: 0, max: 100_000 }).map(String),
      fc.integer({ min: -100, max: 100 }),
      { maxKeys: 3 },
    ),
    metadata: jsonObject(),
    job_metadata: jsonObject(),
    call_metadata: jsonObject(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: 1, max: 2000 }),
  };
}

describe('OpenAPI fuzz: both services, valid auth, hostile input', () => {
  let w: World;
  let funded: { teamId: string; key: string };
  let other: { teamId: string; key: string };
  let startedAt: Date;
  const tally = new Tally();

  // admin-api pools: a sandbox organization (the funded team is never a target of admin writes)
  const orgs = new Pool();
  const teams = new Pool();
  const keys = new Pool();
  const credentials = new Pool();
  const models = new Pool();
  const groups = new Pool();
  const adminJobs = new Pool();
  const cursors = new Pool('');

  // team-gateway pools
  const ownTeams = new Pool();
  const otherTeams = new Pool();
  const ownJobs = new Pool();
  const otherJobs = new Pool();
  const gwModels = new Pool();

  beforeAll(async () => {
    startedAt = new Date(Date.now() - 1000);
    console.log(`openapi fuzz: FUZZ_REQUESTS=${REQUESTS} FUZZ_SEED=${SEED}`);
    w = await World.start();
    const allowed = await w.modelInGroup();
    const denied = await w.modelInGroup();
    funded = await w.team({
      groups: [allowed.group],
      credits: 10_000_000,
      budget_mode: 'consumption_usd',
      cost_markup_percentage: 20,
    });
    other = await w.team({ groups: [allowed.group], credits: 100 });
    ownTeams.add(funded.teamId);
    otherTeams.add(other.teamId);
    [
      allowed.group,
      allowed.model,
      allowed.model,
      denied.model,
      denied.group,
      'no-such-model',
    ].forEach((m) => gwModels.values.push(m));
    const gw = (method: string, path: string, key: string, body?: unknown) =>
      call(w.gateway.url, method, path, { bearer: key, body });
    for (let i = 0; i < 3; i++) {
      ownJobs.add(
        (await gw('POST', '/api/jobs/create', funded.key, { job_type: 'fuzz' })).body.job_id,
      );
    }
    const closed = (await gw('POST', '/api/jobs/create', funded.key, { job_type: 'fuzz' })).body
      .job_id as string;
    await gw('POST', `/api/jobs/${closed}/complete`, funded.key, { status: 'failed' });
    ownJobs.add(closed);
    otherJobs.add(
      (await gw('POST', '/api/jobs/create', other.key, { job_type: 'fuzz' })).body.job_id,
    );

    const existing = await w.pg.query<{ id: string }>(
      `SELECT team_id AS id FROM teams UNION ALL SELECT key_id::text FROM virtual_keys
       UNION ALL SELECT model_id::text FROM model_deployments UNION ALL SELECT group_name FROM model_groups
       UNION ALL SELECT credential_id::text FROM provider_credentials
       UNION ALL SELECT job_id::text FROM jobs WHERE team_id = $1`,
      [funded.teamId],
    );
    for (const { id } of existing.rows) protectedIds.add(id);

    // the admin sandbox
    const admin = (method: string, path: string, body?: unknown) =>
      call(w.admin.url, method, path, { admin: true, body });
    const org = uid('fuzz-org');
    await admin('POST', '/api/organizations/create', { organization_id: org, name: 'Fuzz' });
    orgs.add(org);
    orgs.values.push(w.org); // read and extended, never changed: organizations have no writes
    const cred = await admin('POST', '/api/provider-credentials/create', {
      organization_id: org,
      provider: 'openai-compatible',
      credential_name: uid('cred'),
      api_key: 'sk-fuzz-upstream',
      api_base: `${w.fake.url}/v1`,
    });
    expect(cred.status).toBe(201);
    credentials.add(cred.body.credential_id);
    const modelName = uid('fuzz-model');
    const model = await admin('POST', '/api/models/create', {
      model_name: modelName,
      provider: 'openai-compatible',
      provider_model: modelName,
      credential_id: cred.body.credential_id,
      api_base: `${w.fake.url}/v1`,
      input_price_per_million: 1,
      output_price_per_million: 2,
    });
    expect(model.status).toBe(201);
    models.add(model.body.model_id);
    const group = uid('fuzz-group');
    expect(
      (await admin('POST', '/api/model-groups/create', { group_name: group, models: [modelName] }))
        .status,
    ).toBe(201);
    groups.add(group);
    for (let i = 0; i < 2; i++) {
      const team = await admin('POST', '/api/teams/create', {
        organization_id: org,
        team_id: uid('fuzz-team'),
        model_groups: [group],
        credits_allocated: 1000,
      });
      expect(team.status).toBe(201);
      teams.add(team.body.team_id);
      keys.add(team.body.key_id);
    }
    adminJobs.values.push(otherJobs.values[0]);
  });

  afterAll(async () => {
    console.log(tally.summary('openapi fuzz summary'));
    if (process.env.FUZZ_SUMMARY_FILE) {
      writeFileSync(process.env.FUZZ_SUMMARY_FILE, JSON.stringify(tally.toJSON(), null, 2));
    }
    await w?.stop();
  });

  /** Learns ids and cursors from a 2xx answer, so later requests reach real rows. */
  function harvest(service: FuzzRequest['service'], res: FuzzResponse): void {
    if (res.status >= 300 || !res.body || typeof res.body !== 'object') return;
    const body = res.body as Record<string, unknown>;
    const rows = [body, ...(Array.isArray(body.data) ? body.data.slice(0, 3) : [])] as Array<
      Record<string, unknown>
    >;
    if (typeof body.next_cursor === 'string') cursors.add(body.next_cursor);
    for (const row of rows) {
      if (!row || typeof row !== 'object') continue;
      if (service === 'team-gateway') {
        if (row.team_id === funded.teamId) ownJobs.add(row.job_id);
        continue;
      }
      orgs.add(row.organization_id);
      teams.add(row.team_id);
      keys.add(row.key_id);
      credentials.add(row.credential_id);
      models.add(row.model_id);
      groups.add(row.group_name);
      adminJobs.add(row.job_id);
    }
  }

  /** Sends numRuns requests; fails with the first 20 answers >= 500 or streams ending in an error. */
  async function fuzz(
    service: FuzzRequest['service'],
    arb: fc.Arbitrary<FuzzRequest>,
    numRuns: number,
  ): Promise<void> {
    const failures: string[] = [];
    const base = service === 'admin-api' ? w.admin.url : w.gateway.url;
    const auth = service === 'admin-api' ? { admin: true } : { bearer: funded.key };
    await fc.assert(
      fc.asyncProperty(arb, async (req) => {
        let res: FuzzResponse;
        try {
          res = await send(base, req, auth);
        } catch (err) {
          failures.push(`no answer (${String(err)}): ${describeRequest(req)}`);
          return;
        }
        tally.add(req, res.status);
        harvest(service, res);
        if (process.env.FUZZ_LOG) {
          appendFileSync(
            process.env.FUZZ_LOG,
            `${res.status} ${describeRequest(req).slice(0, 600)} → ${res.text.slice(0, 300)}\n`,
          );
        }
        if (res.status >= 500 || res.streamErrors.length) {
          failures.push(
            `${res.status} ${res.streamErrors.join(' ')} for ${describeRequest(req)} → ${res.text.slice(0, 300)}`,
          );
        }
      }),
      { numRuns, seed: SEED, endOnFailure: true },
    );
    if (failures.length) {
      throw new Error(
        `FUZZ_SEED=${SEED}: ${failures.length} failing request(s), first ones:\n` +
          failures.slice(0, 20).join('\n'),
      );
    }
  }

  /** After each test: both services ready, the books exact, no credits held but by open jobs. */
  async function servicesReadyAndBooksExact(): Promise<void> {
    for (const app of [w.admin, w.gateway]) {
      expect((await call(app.url, 'GET', '/health/ready')).status).toBe(200);
    }
    const books = () =>
      w.pg.query<{
        team_id: string;
        budget_mode: string;
        allocated: string;
        used: string;
        held: string;
        ledger: string;
        holds: string;
        stray_holds: number;
        leases: number;
      }>(
        `SELECT t.team_id, t.budget_mode, t.credits_allocated::text AS allocated,
                t.credits_used::text AS used, t.credits_held::text AS held,
                (SELECT COALESCE(sum(credits_amount), 0)::text FROM credit_transactions c WHERE c.team_id = t.team_id) AS ledger,
                (SELECT COALESCE(sum(credits), 0)::text FROM credit_holds h WHERE h.team_id = t.team_id) AS holds,
                (SELECT count(*)::int FROM credit_holds h LEFT JOIN jobs j ON j.job_id = h.job_id
                  WHERE h.team_id = t.team_id AND (j.job_id IS NULL OR j.status IN ('completed', 'failed'))) AS stray_holds,
                (SELECT count(*)::int FROM credit_leases l WHERE l.team_id = t.team_id) AS leases
           FROM teams t WHERE t.created_at >= $1`,
        [startedAt],
      );
    // leases of idle teams go back shortly after their last call (metering.md)
    await eventually(async () => (await books()).rows.every((r) => r.leases === 0), 20_000, 200);
    const rows = (await books()).rows;
    expect(rows.length).toBeGreaterThan(3);
    const wrong = rows.filter(
      (r) =>
        BigInt(r.ledger) !== BigInt(r.allocated) - BigInt(r.used) ||
        r.held !== r.holds ||
        r.stray_holds !== 0,
    );
    // a job_based hold stays with its open job even if the admin fuzz changed the budget mode since
    expect(wrong).toEqual([]);
    expect(rows.find((r) => r.team_id === funded.teamId)).toMatchObject({ held: '0' });
  }

  it('stateful sequences: create → use → revoke/rotate/suspend/delete → use, jobs to closed', async () => {
    // the stateful teams live in fresh organizations: their deployment uses a shared credential
    const admin = (method: string, path: string, body?: unknown) =>
      call(w.admin.url, method, path, { admin: true, body });
    const cred = await admin('POST', '/api/provider-credentials/create', {
      organization_id: null,
      provider: 'openai-compatible',
      credential_name: uid('fz-shared'),
      api_key: 'sk-fuzz-shared',
      api_base: `${w.fake.url}/v1`,
    });
    expect(cred.status).toBe(201);
    const modelName = uid('fz-shared-model');
    const created = await admin('POST', '/api/models/create', {
      model_name: modelName,
      provider: 'openai-compatible',
      provider_model: modelName,
      credential_id: cred.body.credential_id,
      api_base: `${w.fake.url}/v1`,
      input_price_per_million: 1,
      output_price_per_million: 2,
    });
    expect(created.status).toBe(201);
    const group = uid('fz-shared-group');
    expect(
      (await admin('POST', '/api/model-groups/create', { group_name: group, models: [modelName] }))
        .status,
    ).toBe(201);
    const ctx = new StatefulContext(w.admin.url, w.gateway.url, group, group, tally);
    await fc.assert(
      fc.asyncProperty(statefulCommands(), async (cmds) => {
        const org = uid('fz-state');
        const res = await ctx.admin_('POST', '/api/organizations/create', {
          organization_id: org,
          name: 'Stateful fuzz',
        });
        expect(res.status).toBe(201);
        const model: StatefulModel = { org, teams: [], keys: [], jobs: [] };
        await new CreateTeam(true).run(model, ctx);
        await fc.asyncModelRun(() => ({ model, real: ctx }), cmds);
      }),
      { numRuns: STATEFUL_RUNS, seed: SEED },
    );
    await servicesReadyAndBooksExact();
  });

  it('admin-api: no answer >= 500', async () => {
    const teamOrNew = fc.oneof(
      teams.arb(),
      fc.constant(null).map(() => uid('fz')),
    );
    const pathHints: Hints = {
      org_id: idArb(orgs),
      team_id: idArb(teams),
      key_id: idArb(keys),
      credential_id: idArb(credentials),
      model_id: idArb(models),
      group_name: idArb(groups),
      job_id: idArb(adminJobs),
    };
    const queryHints: Hints = {
      cursor: cursors.arb(),
      organization_id: orgs.arb(),
      target_id: teams.arb(),
    };
    const bodyHints: Hints = {
      organization_id: fc.oneof(
        orgs.arb(),
        fc.constant(null).map(() => uid('fz-org')),
      ),
      team_id: teamOrNew,
      model_groups: fc.array(groups.arb(), { maxLength: 2 }),
      access_groups: fc.array(groups.arb(), { maxLength: 2 }),
      credential_id: credentials.arb(),
      group_name: fc.oneof(
        groups.arb(),
        fc.constant(null).map(() => uid('fz-group')),
      ),
      metadata: jsonObject(),
      // only loopback upstreams: a fuzzed deployment must never reach the network
      api_base: fc.constantFrom(`${w.fake.url}/v1`, 'http://127.0.0.1:9/v1', 'not a url', ''),
      duration: fc.constantFrom('30s', '20m', '12h', '30d', '0s', '1y', '-1d', '999999999d'),
      grace_period: fc.constantFrom('0s', '1h', '7d', 'soon', '-5s', '99999999999d'),
      budget_duration: fc.constantFrom('30s', '1d', '30d', 'x'),
    };
    const ops = operations(adminDoc as never);
    const arb = fc
      .constantFrom(...ops)
      .chain((op) => requestArb('admin-api', op, pathHints, queryHints, bodyHints));
    await fuzz('admin-api', arb, STATELESS_RUNS);
    await servicesReadyAndBooksExact();
  });

  it('team-gateway: no answer >= 500, no stream ending in an error', async () => {
    const pathHints: Hints = {
      team_id: idArb(ownTeams, otherTeams),
      job_id: idArb(ownJobs, otherJobs),
      model: idArb(gwModels),
    };
    const queryHints: Hints = {
      team_id: idArb(ownTeams, otherTeams),
      cursor: cursors.arb(),
      'X-Job-Id': idArb(ownJobs, otherJobs),
    };
    const bodyHints: Hints = {
      ...callHints(gwModels),
      team_id: fc.oneof(
        { weight: 4, arbitrary: ownTeams.arb() },
        { weight: 1, arbitrary: otherTeams.arb() },
      ),
    };
    const ops = operations(gatewayDoc as never);
    const arb = fc
      .constantFrom(...ops)
      .chain((op) => requestArb('team-gateway', op, pathHints, queryHints, bodyHints));
    await fuzz('team-gateway', arb, STATELESS_RUNS);
    await servicesReadyAndBooksExact();
  });
});
