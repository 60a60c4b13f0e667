import { Client } from 'pg';
import { CredentialCipher } from '../../../libs/auth/src';
import {
  ENCRYPTION_KEY,
  RunningApp,
  startAdmin,
  startGateway,
  uid,
} from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { startFakeUpstream } from '../../../test/fake-upstream/server';

export type FakeUpstream = Awaited<ReturnType<typeof startFakeUpstream>>;

const cipher = new CredentialCipher({
  encryption: { current: { id: 'k1', key: Buffer.from(ENCRYPTION_KEY, 'base64') }, previous: [] },
});

export interface ModelSpec {
  /** Default `openai-compatible`; `openai` and `anthropic` deployments also point at the fake. */
  provider?: 'openai' | 'openai-compatible' | 'anthropic' | 'mock';
  /** Where the deployment sends requests (default: the fake upstream). */
  apiBase?: string;
  providerModel?: string;
  weight?: number;
  input?: number;
  output?: number;
  status?: 'active' | 'inactive';
}

export interface TeamSpec {
  groups: string[];
  credits?: number;
  budget_mode?: 'job_based' | 'consumption_usd' | 'consumption_tokens';
  cost_markup_percentage?: number;
  credits_per_dollar?: number;
  tokens_per_credit?: number;
  rpm_limit?: number;
  tpm_limit?: number;
}

/** The real admin-api and gateway, a fake upstream on loopback, and SQL for rows without admin routes yet. */
export class World {
  readonly org = uid('org');
  /** The provider key the fake upstream must see as `Authorization: Bearer …`. */
  readonly providerKey = `sk-upstream-${uid('p')}`;
  private credentialId = '';

  private constructor(
    readonly admin: RunningApp,
    readonly gateway: RunningApp,
    readonly fake: FakeUpstream,
    readonly pg: Client,
  ) {}

  static async start(
    gatewayEnv: Record<string, string> = {},
    adminEnv: Record<string, string> = {},
  ): Promise<World> {
    const pg = new Client({ connectionString: process.env.DATABASE_URL });
    await pg.connect();
    const [admin, gateway, fake] = await Promise.all([
      startAdmin(adminEnv),
      startGateway(gatewayEnv),
      startFakeUpstream(),
    ]);
    const world = new World(admin, gateway, fake, pg);
    const org = await call(admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: world.org, name: world.org },
    });
    if (org.status !== 201) throw new Error(`org: ${JSON.stringify(org.body)}`);
    const sealed = cipher.encrypt(world.providerKey);
    const rows = await pg.query(
      `INSERT INTO provider_credentials (organization_id, provider, credential_name, api_key_encrypted, encryption_key_id, api_key_last4)
       VALUES ($1, 'openai-compatible', $2, $3, $4, $5) RETURNING credential_id`,
      [world.org, uid('cred'), sealed.ciphertext, sealed.keyId, world.providerKey.slice(-4)],
    );
    world.credentialId = (rows.rows[0] as { credential_id: string }).credential_id;
    return world;
  }

  /** One openai-compatible deployment of `name` pointing at the fake upstream. */
  async model(name: string, spec: ModelSpec = {}): Promise<string> {
    const rows = await this.pg.query(
      `INSERT INTO model_deployments (model_name, provider, provider_model, credential_id, api_base,
         input_price_per_million, output_price_per_million, weight, status)
       VALUES ($1, $9, $2, $3, $4, $5, $6, $7, $8) RETURNING model_id`,
      [
        name,
        spec.providerModel ?? name,
        this.credentialId,
        spec.apiBase ??
          (spec.provider === 'anthropic'
            ? this.fake.url
            : spec.provider === 'mock'
              ? null
              : `${this.fake.url}/v1`),
        spec.input ?? 2,
        spec.output ?? 8,
        spec.weight ?? 1,
        spec.status ?? 'active',
        spec.provider ?? 'openai-compatible',
      ],
    );
    return (rows.rows[0] as { model_id: string }).model_id;
  }

  async group(name: string, models: string[]): Promise<void> {
    await this.pg.query('INSERT INTO model_groups (group_name, models) VALUES ($1, $2)', [
      name,
      models,
    ]);
  }

  /** A team created through the admin API; returns its id and default virtual key. */
  async team(spec: TeamSpec): Promise<{ teamId: string; key: string }> {
    const teamId = uid('team');
    const res = await call(this.admin.url, 'POST', '/api/teams/create', {
      admin: true,
      body: {
        organization_id: this.org,
        team_id: teamId,
        model_groups: spec.groups,
        credits_allocated: spec.credits ?? 100,
        budget_mode: spec.budget_mode,
        cost_markup_percentage: spec.cost_markup_percentage,
        credits_per_dollar: spec.credits_per_dollar,
        tokens_per_credit: spec.tokens_per_credit,
        rpm_limit: spec.rpm_limit,
        tpm_limit: spec.tpm_limit,
      },
    });
    if (res.status !== 201) throw new Error(`team: ${JSON.stringify(res.body)}`);
    return { teamId, key: (res.body as { virtual_key: string }).virtual_key };
  }

  /** A model and a group holding it, in one go. */
  async modelInGroup(spec: ModelSpec = {}): Promise<{ model: string; group: string }> {
    const model = uid('model');
    const group = uid('group');
    await this.model(model, spec);
    await this.group(group, [model]);
    return { model, group };
  }

  gw<T = ReturnType<typeof JSON.parse>>(method: string, path: string, key: string, body?: unknown) {
    return call<T>(this.gateway.url, method, path, { bearer: key, body });
  }

  async team_row(teamId: string) {
    const rows = await this.pg.query(
      `SELECT credits_allocated::int AS allocated, credits_used::int AS used, credits_held::int AS held,
              (SELECT COALESCE(sum(credits_amount), 0)::int FROM credit_transactions WHERE team_id = $1) AS ledger_sum,
              (SELECT count(*)::int FROM credit_holds WHERE team_id = $1) AS holds
         FROM teams WHERE team_id = $1`,
      [teamId],
    );
    return rows.rows[0] as {
      allocated: number;
      used: number;
      held: number;
      ledger_sum: number;
      holds: number;
    };
  }

  /**
   * The team's books once the gateways are idle: busy teams are metered from credit leases that
   * go back, and a journal that writes calls, shortly after the last call (see metering.md).
   */
  async settled(teamId: string, timeoutMs = 10_000) {
    await eventually(async () => {
      const leases = await this.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM credit_leases WHERE team_id = $1',
        [teamId],
      );
      return leases.rows[0].n === 0 && (await this.team_row(teamId)).held === 0;
    }, timeoutMs);
    return this.team_row(teamId);
  }

  async stop(): Promise<void> {
    await Promise.all([this.admin.close(), this.gateway.close(), this.fake.close()]);
    await this.pg.end();
  }
}

export const hello = [{ role: 'user', content: 'Say hello' }];
