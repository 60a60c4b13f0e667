import { call, eventually } from '../../../test/helpers/http';
import { writeReport } from '../../../test/helpers/report';
import { hello, World } from './gateway-fixtures';
import { ensureGatewayBuilt, GatewayProcess, spawnGateway } from './gateway-process';
import { postSse, readAll } from './sse-client';

/** Holds live 3 s unless a live replica renews them; the sweep runs every half second. */
const SHORT_HOLDS = { HOLD_TTL_SECONDS: '3', LEASE_MIN_CALLS_PER_SECOND: 'off' };

/**
 * Reliability issue, item 3: credits held by a dead replica come back within HOLD_TTL_SECONDS,
 * while a live replica's long stream keeps its hold for as long as it runs.
 */
describe('call holds live as long as their replica', () => {
  let w: World;
  let child: GatewayProcess | null = null;
  let model: string;

  beforeAll(async () => {
    ensureGatewayBuilt();
    w = await World.start({ ...SHORT_HOLDS, JOB_SWEEP_INTERVAL_MS: '500' });
    ({ group: model } = await w.modelInGroup());
  });
  afterAll(async () => {
    if (child && child.process.exitCode === null) child.process.kill('SIGKILL');
    await w.stop();
  });
  afterEach(() => w.fake.reset());

  const consumptionTeam = () =>
    w.team({
      groups: [model],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });

  const holdsOf = async (teamId: string) =>
    (
      await w.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM credit_holds WHERE team_id = $1',
        [teamId],
      )
    ).rows[0].n;

  it('a stream running for three hold lifetimes keeps its hold and settles exactly once', async () => {
    const { teamId, key } = await consumptionTeam();
    w.fake.setBehavior({ chunks: 30, chunkDelayMs: 300 }); // ~9 s of stream
    const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'long' });
    const res = await postSse(w.gateway.url, `/api/jobs/${job.body.job_id}/llm-call-stream`, key, {
      model,
      messages: hello,
    });
    expect(res.status).toBe(200);
    const reading = readAll(res.events);
    // past two lifetimes of the hold (and many sweeps), it is still there
    await new Promise((r) => setTimeout(r, 7000));
    expect(await holdsOf(teamId)).toBe(1);
    const events = await reading;
    expect(events.at(-1)?.data).toBe('[DONE]');
    const row = await w.team_row(teamId);
    expect(row).toMatchObject({ held: 0, holds: 0 });
    expect(row.used).toBeGreaterThan(0);
    expect(row.ledger_sum).toBe(row.allocated - row.used);
  }, 30_000);

  it('kill -9 of a replica with streams in flight: its holds come back within the hold lifetime', async () => {
    const { teamId, key } = await consumptionTeam();
    child = await spawnGateway({ ...SHORT_HOLDS, LOG_LEVEL: 'warn' });
    w.fake.setBehavior({ chunks: 40, chunkDelayMs: 250 });
    const jobIds = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const job = await call(child!.url, 'POST', '/api/jobs/create', {
          bearer: key,
          body: { job_type: 'doomed' },
        });
        return job.body.job_id as string;
      }),
    );
    const streams = await Promise.all(
      jobIds.map((jobId) =>
        postSse(child!.url, `/api/jobs/${jobId}/llm-call-stream`, key, {
          model,
          messages: hello,
        }),
      ),
    );
    expect(streams.map((s) => s.status)).toEqual(streams.map(() => 200));
    const reading = streams.map((s) => readAll(s.events).catch(() => []));
    await eventually(async () => (await holdsOf(teamId)) === 8, 5000);
    const heldAtKill = (await w.team_row(teamId)).held;
    expect(heldAtKill).toBeGreaterThan(0);
    const killedAt = Date.now();
    child.process.kill('SIGKILL');
    await child.exited;
    await Promise.all(reading);
    // nobody renews them now: they expire (3 s) and the survivor's sweep gives them back
    await eventually(async () => (await w.team_row(teamId)).held === 0, 10_000, 100);
    const creditsBackMs = Date.now() - killedAt;
    writeReport('dead-replica', {
      streamsInFlight: 8,
      heldAtKill,
      holdTtlSeconds: 3,
      creditsBackMs,
    });
    expect(creditsBackMs).toBeLessThan(3000 + 3000);
    const row = await w.team_row(teamId);
    expect(row).toMatchObject({ held: 0, holds: 0, used: 0 }); // cut before settling: not charged
    expect(row.ledger_sum).toBe(row.allocated);
  }, 40_000);
});
