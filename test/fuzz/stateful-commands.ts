import fc from 'fast-check';
import { uid } from '../helpers/apps';
import { describeRequest, FuzzRequest, FuzzResponse, send, Tally } from './fuzz-client';

/**
 * fast-check model-based commands over the admin-api and the gateway: organizations, teams, keys,
 * credits, jobs and calls, with revocation, rotation, suspension and deletion in between. Each
 * command predicts the status codes from the model and checks them against the real services.
 */

export interface TeamM {
  id: string;
  status: 'active' | 'suspended' | 'deleted';
  /** Holds credits (1,000 or more): calls succeed; otherwise its first call is refused (403). */
  funded: boolean;
}
export interface KeyM {
  id: string;
  secret: string;
  team: number;
  revoked: boolean;
}
export interface JobM {
  id: string;
  team: number;
  key: number;
  /** The complete answer once the job is closed (a repeat must return the same). */
  closed: { status: string; result: unknown } | null;
}
export interface StatefulModel {
  org: string;
  teams: TeamM[];
  keys: KeyM[];
  jobs: JobM[];
}

/** How the commands reach the services; counts every request in the shared tally. */
export class StatefulContext {
  constructor(
    readonly admin: string,
    readonly gateway: string,
    /** A model-group name the stateful teams are granted, served by the fake upstream. */
    readonly model: string,
    readonly group: string,
    private readonly tally: Tally,
  ) {}

  async send(
    service: FuzzRequest['service'],
    method: string,
    path: string,
    body?: unknown,
    bearer?: string,
  ): Promise<FuzzResponse> {
    const req: FuzzRequest = {
      service,
      method,
      route: `${path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|fz-[a-z]+-[0-9a-f]{10}/g, '{id}')} (stateful)`,
      path,
      headers: {},
      body: body === undefined ? undefined : JSON.stringify(body),
    };
    const res = await send(service === 'admin-api' ? this.admin : this.gateway, req, {
      admin: service === 'admin-api',
      bearer,
    });
    this.tally.add(req, res.status);
    res.request = describeRequest(req);
    if (res.status >= 500 || res.streamErrors.length) {
      throw new Error(`${res.status} for ${describeRequest(req)} → ${res.text.slice(0, 300)}`);
    }
    return res;
  }

  admin_(method: string, path: string, body?: unknown) {
    return this.send('admin-api', method, path, body);
  }

  gw(method: string, path: string, key: string, body?: unknown) {
    return this.send('team-gateway', method, path, body, key);
  }
}

type Cmd = fc.AsyncCommand<StatefulModel, StatefulContext>;

/** What the gateway answers a key, before anything about credits or jobs. */
function access(m: StatefulModel, k: number): 200 | 401 | 403 {
  const key = m.keys[k];
  const team = m.teams[key.team];
  if (key.revoked || team.status === 'deleted') return 401;
  if (team.status === 'suspended') return 403;
  return 200;
}

function expectStatus(what: string, res: FuzzResponse, ...allowed: number[]): void {
  if (!allowed.includes(res.status)) {
    throw new Error(
      `${what}: expected ${allowed.join(' or ')}, got ${res.status} ${res.text.slice(0, 300)}\n` +
        `request: ${res.request ?? '?'}`,
    );
  }
}

/** Admin changes reach the gateway within 1 s (SPEC §1): wait for the model's answer, then hold it. */
async function settleKeys(m: StatefulModel, real: StatefulContext, keys: number[]): Promise<void> {
  const deadline = Date.now() + 1500;
  for (const k of keys) {
    const want = access(m, k);
    for (;;) {
      const res = await real.gw('GET', '/api/teams/verify', m.keys[k].secret);
      if (res.status === want) break;
      if (Date.now() > deadline) {
        throw new Error(`key ${k}: expected ${want} within 1 s, still ${res.status}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const keysOf = (m: StatefulModel, t: number) =>
  m.keys.map((k, i) => (k.team === t ? i : -1)).filter((i) => i >= 0);

const pick = <T>(list: T[], i: number) => i % list.length;

export class CreateTeam implements Cmd {
  constructor(readonly funded: boolean) {}
  check = () => true;
  async run(m: StatefulModel, real: StatefulContext) {
    const teamId = uid('fz-team');
    const res = await real.admin_('POST', '/api/teams/create', {
      organization_id: m.org,
      team_id: teamId,
      model_groups: [real.group],
      credits_allocated: this.funded ? 1000 : 0,
    });
    expectStatus('create team', res, 201);
    const body = res.body as { key_id: string; virtual_key: string };
    m.teams.push({ id: teamId, status: 'active', funded: this.funded });
    m.keys.push({
      id: body.key_id,
      secret: body.virtual_key,
      team: m.teams.length - 1,
      revoked: false,
    });
  }
  toString = () => `CreateTeam(funded=${this.funded})`;
}

class CreateKey implements Cmd {
  constructor(readonly t: number) {}
  check = (m: Readonly<StatefulModel>) => m.teams.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const t = pick(m.teams, this.t);
    const team = m.teams[t];
    const res = await real.admin_('POST', `/api/teams/${team.id}/keys`, { key_alias: 'fuzz' });
    // only an active team gets new keys
    if (team.status !== 'active') return expectStatus(`key on a ${team.status} team`, res, 409);
    expectStatus('create key', res, 201);
    const body = res.body as { key_id: string; virtual_key: string };
    m.keys.push({ id: body.key_id, secret: body.virtual_key, team: t, revoked: false });
  }
  toString = () => `CreateKey(${this.t})`;
}

class AddCredits implements Cmd {
  constructor(
    readonly t: number,
    readonly credits: number,
  ) {}
  check = (m: Readonly<StatefulModel>) => m.teams.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const team = m.teams[pick(m.teams, this.t)];
    const res = await real.admin_('POST', `/api/credits/teams/${team.id}/add`, {
      credits: this.credits,
      reason: 'fuzz',
    });
    if (team.status === 'deleted') return expectStatus('credits to a deleted team', res, 404, 409);
    expectStatus('add credits', res, 200);
    team.funded = true;
  }
  toString = () => `AddCredits(${this.t}, ${this.credits})`;
}

class RevokeKey implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<StatefulModel>) => m.keys.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const k = pick(m.keys, this.k);
    const res = await real.admin_('DELETE', `/api/keys/${m.keys[k].id}`);
    expectStatus('revoke', res, 200);
    m.keys[k].revoked = true;
    await settleKeys(m, real, [k]);
  }
  toString = () => `RevokeKey(${this.k})`;
}

class RotateKey implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<StatefulModel>) => m.keys.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const k = pick(m.keys, this.k);
    const key = m.keys[k];
    const res = await real.admin_('POST', `/api/keys/${key.id}/rotate`, { grace_period: '0s' });
    if (key.revoked || m.teams[key.team].status === 'deleted') {
      return expectStatus('rotate a revoked key', res, 409);
    }
    expectStatus('rotate', res, 200);
    const body = res.body as { key_id: string; virtual_key: string };
    key.revoked = true;
    m.keys.push({ id: body.key_id, secret: body.virtual_key, team: key.team, revoked: false });
    await settleKeys(m, real, [k, m.keys.length - 1]);
  }
  toString = () => `RotateKey(${this.k})`;
}

class SetTeamStatus implements Cmd {
  constructor(
    readonly t: number,
    readonly action: 'suspend' | 'resume' | 'delete',
  ) {}
  check = (m: Readonly<StatefulModel>) => m.teams.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const t = pick(m.teams, this.t);
    const team = m.teams[t];
    const res =
      this.action === 'delete'
        ? await real.admin_('DELETE', `/api/teams/${team.id}`)
        : await real.admin_('PUT', `/api/teams/${team.id}/${this.action}`);
    if (this.action !== 'delete' && team.status === 'deleted') {
      return expectStatus(`${this.action} a deleted team`, res, 409);
    }
    expectStatus(this.action, res, 200);
    team.status =
      this.action === 'delete' ? 'deleted' : this.action === 'suspend' ? 'suspended' : 'active';
    if (team.status === 'deleted') for (const k of keysOf(m, t)) m.keys[k].revoked = true;
    await settleKeys(m, real, keysOf(m, t));
  }
  toString = () => `SetTeamStatus(${this.t}, ${this.action})`;
}

class Verify implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<StatefulModel>) => m.keys.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const k = pick(m.keys, this.k);
    const res = await real.gw('GET', '/api/teams/verify', m.keys[k].secret);
    expectStatus('verify', res, access(m, k));
  }
  toString = () => `Verify(${this.k})`;
}

class Chat implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<StatefulModel>) => m.keys.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const k = pick(m.keys, this.k);
    const res = await real.gw('POST', '/v1/chat/completions', m.keys[k].secret, {
      model: real.model,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    const want = access(m, k);
    if (want !== 200) return expectStatus('chat', res, want);
    expectStatus('chat', res, m.teams[m.keys[k].team].funded ? 200 : 403);
  }
  toString = () => `Chat(${this.k})`;
}

class CreateJob implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<StatefulModel>) => m.keys.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const k = pick(m.keys, this.k);
    const res = await real.gw('POST', '/api/jobs/create', m.keys[k].secret, { job_type: 'fuzz' });
    const want = access(m, k);
    if (want !== 200) return expectStatus('create job', res, want);
    expectStatus('create job', res, 201);
    m.jobs.push({
      id: (res.body as { job_id: string }).job_id,
      team: m.keys[k].team,
      key: k,
      closed: null,
    });
  }
  toString = () => `CreateJob(${this.k})`;
}

class CallJob implements Cmd {
  constructor(readonly j: number) {}
  check = (m: Readonly<StatefulModel>) => m.jobs.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const job = m.jobs[pick(m.jobs, this.j)];
    const res = await real.gw('POST', `/api/jobs/${job.id}/llm-call`, m.keys[job.key].secret, {
      model: real.model,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    const want = access(m, job.key);
    if (want !== 200) return expectStatus('call', res, want);
    if (job.closed) return expectStatus('call on a closed job', res, 409);
    expectStatus('call', res, m.teams[job.team].funded ? 200 : 403);
  }
  toString = () => `CallJob(${this.j})`;
}

class CompleteJob implements Cmd {
  constructor(
    readonly j: number,
    readonly status: 'completed' | 'failed',
  ) {}
  check = (m: Readonly<StatefulModel>) => m.jobs.length > 0;
  async run(m: StatefulModel, real: StatefulContext) {
    const job = m.jobs[pick(m.jobs, this.j)];
    const res = await real.gw('POST', `/api/jobs/${job.id}/complete`, m.keys[job.key].secret, {
      status: this.status,
    });
    const want = access(m, job.key);
    if (want !== 200) return expectStatus('complete', res, want);
    if (job.closed) {
      // idempotent: a repeat returns the first answer and charges nothing
      expectStatus('complete again', res, 200);
      if (JSON.stringify(res.body) !== JSON.stringify(job.closed.result)) {
        throw new Error(
          `complete again: ${res.text} differs from ${JSON.stringify(job.closed.result)}`,
        );
      }
      return;
    }
    expectStatus('complete', res, 200);
    job.closed = { status: this.status, result: res.body };
  }
  toString = () => `CompleteJob(${this.j}, ${this.status})`;
}

/** Sequences of up to 30 commands; a run starts from a fresh organization with one team. */
export function statefulCommands() {
  const idx = fc.nat({ max: 50 });
  const arbs: Array<fc.Arbitrary<Cmd>> = [
    fc.boolean().map((f) => new CreateTeam(f)),
    idx.map((t) => new CreateKey(t)),
    fc.tuple(idx, fc.integer({ min: 1000, max: 100_000 })).map(([t, c]) => new AddCredits(t, c)),
    idx.map((k) => new RevokeKey(k)),
    idx.map((k) => new RotateKey(k)),
    fc
      .tuple(idx, fc.constantFrom('suspend' as const, 'resume' as const, 'delete' as const))
      .map(([t, a]) => new SetTeamStatus(t, a)),
    idx.map((k) => new Verify(k)),
    idx.map((k) => new Chat(k)),
    idx.map((k) => new CreateJob(k)),
    idx.map((k) => new CreateJob(k)),
    idx.map((j) => new CallJob(j)),
    idx.map((j) => new CallJob(j)),
    fc
      .tuple(idx, fc.constantFrom('completed' as const, 'failed' as const))
      .map(([j, s]) => new CompleteJob(j, s)),
  ];
  return fc.commands(arbs, { maxCommands: 30, size: 'max' });
}
