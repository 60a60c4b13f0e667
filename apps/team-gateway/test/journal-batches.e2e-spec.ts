import { call, eventually } from '../../../test/helpers/http';
import { statements } from '../../../test/helpers/round-trips';
import { hello, World } from './gateway-fixtures';

/** Every team leased from its first call; a journal that waits 1.5 s to batch. */
const SLOW_BATCHES = {
  LEASE_MIN_CALLS_PER_SECOND: '0',
  LEASE_IDLE_MS: '3000',
  JOURNAL_FLUSH_MS: '1500',
};

/** Each call costs exactly 1 credit (ceil(tokens / 1,000,000)). */
const ONE_PER_CALL = { budget_mode: 'consumption_tokens', tokens_per_credit: 1_000_000 } as const;

/** The journal's batch statements (one per batch) that carry records of `teamId`. */
const batchesOf = (teamId: string) =>
  statements(
    (text, values) =>
      text.includes('jsonb_to_recordset') &&
      typeof values[0] === 'string' &&
      values[0].includes(teamId),
  );

/**
 * The call journal (docs/design/metering.md) writes leased calls to Postgres in batches: a record,
 * durable in Redis once the client has its answer, waits JOURNAL_FLUSH_MS for others to share its
 * statement; a read of the team's books on the replica writes what is queued at once.
 */
describe('call journal batches (JOURNAL_FLUSH_MS)', () => {
  let w: World;
  let model: string;

  beforeAll(async () => {
    w = await World.start(SLOW_BATCHES);
    ({ group: model } = await w.modelInGroup());
  });
  afterAll(() => w.stop());

  const v1 = (key: string) =>
    call(w.gateway.url, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model, messages: hello, max_tokens: 5 },
    });

  const successfulCalls = async (teamId: string) =>
    (
      await w.pg.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1 AND status = 'success'`,
        [teamId],
      )
    ).rows[0].n;

  it('calls answered one after another within JOURNAL_FLUSH_MS share one statement', async () => {
    const { teamId, key } = await w.team({ groups: [model], credits: 1000, ...ONE_PER_CALL });
    const batches = batchesOf(teamId);
    try {
      for (let i = 0; i < 8; i++) expect((await v1(key)).status).toBe(200);
      await eventually(async () => (await successfulCalls(teamId)) === 8, 5000);
      // written at once, each record would be a statement of its own (7 or 8 here)
      expect(batches.count()).toBeGreaterThanOrEqual(1);
      expect(batches.count()).toBeLessThanOrEqual(2);
      // the lease goes back after LEASE_IDLE_MS: the books as SPEC §5 states them
      const row = await w.settled(teamId, 20_000);
      expect(row).toMatchObject({ used: 8, held: 0 });
      expect(row.ledger_sum).toBe(row.allocated - row.used);
    } finally {
      batches.stop();
    }
  }, 40_000);

  it('a balance read on the replica writes the queued records first, without waiting', async () => {
    const { teamId, key } = await w.team({ groups: [model], credits: 1000, ...ONE_PER_CALL });
    for (let i = 0; i < 4; i++) expect((await v1(key)).status).toBe(200);
    // the leased calls' records are in Redis, waiting for their batch
    expect(await successfulCalls(teamId)).toBeLessThan(4);
    const balance = await call(w.gateway.url, 'GET', '/api/credits/balance', { bearer: key });
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({ credits_used: 4 });
    expect(await successfulCalls(teamId)).toBe(4);
  });
});
