import Redis from 'ioredis';
import { call, eventually } from '../../../test/helpers/http';
import { CallJournal } from '../src/metering/call-journal';
import { statements } from '../../../test/helpers/round-trips';
import { hello, World } from './gateway-fixtures';

/** Every team leased from its first call; a journal that waits up to 4 s to batch. */
const SLOW_BATCHES = {
  LEASE_MIN_CALLS_PER_SECOND: '0',
  LEASE_IDLE_MS: '3000',
  JOURNAL_FLUSH_MS: '4000',
};

/** Each call costs exactly 1 credit (ceil(tokens / 1,000,000)). */
const ONE_PER_CALL = { budget_mode: 'consumption_tokens', tokens_per_credit: 1_000_000 } as const;

/** The journal's batch statements (one per batch) that carry records of `teamId`. */
const batchesOf = (teamId: string, prepared = false) =>
  statements(
    (text, values, name) =>
      text.includes('jsonb_to_recordset') &&
      typeof values[0] === 'string' &&
      values[0].includes(teamId) &&
      (!prepared || name === 'tollgate_journal_batch'),
  );

/**
 * The call journal (docs/design/metering.md) writes leased calls to Postgres in batches: while the
 * replica has requests in flight a record, durable in Redis once the client has its answer, waits
 * up to JOURNAL_FLUSH_MS for others to share its statement; once no request has been in flight
 * for a moment (20 ms) the queue is written; a read of the team's books on the replica writes it
 * first.
 */
describe('call journal batches (JOURNAL_FLUSH_MS)', () => {
  let w: World;
  let fast: string;
  let slow: string;

  beforeAll(async () => {
    w = await World.start(SLOW_BATCHES);
    ({ group: fast } = await w.modelInGroup());
    // a call that keeps the replica busy for 5 s
    ({ group: slow } = await w.modelInGroup({ providerModel: 'journal-busy' }));
    w.fake.setBehavior({ perModel: { 'journal-busy': { mode: 'slow', delayMs: 5000 } } });
  });
  afterAll(() => w.stop());

  const v1 = (key: string, model = fast) =>
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

  /** A team whose lease is granted and whose first records are written. */
  async function leasedTeam() {
    const team = await w.team({ groups: [fast, slow], credits: 1000, ...ONE_PER_CALL });
    for (let i = 0; i < 2; i++) expect((await v1(team.key)).status).toBe(200);
    await eventually(async () => (await successfulCalls(team.teamId)) === 2, 5000);
    return team;
  }

  it('lease grants go out as a statement prepared once per connection', async () => {
    const grants = statements((text) => text.includes('INSERT INTO credit_leases'));
    const prepared = statements((_text, _values, name) => name === 'tollgate_lease_grant');
    try {
      await leasedTeam();
      expect(grants.count()).toBeGreaterThanOrEqual(1);
      expect(prepared.count()).toBe(grants.count());
    } finally {
      grants.stop();
      prepared.stop();
    }
  });

  it('calls answered while the replica is busy share one statement', async () => {
    const { teamId, key } = await leasedTeam();
    const busy = v1(key, slow);
    const batches = batchesOf(teamId);
    // prepared once per connection: planning the statement took ~2 ms a batch
    const prepared = batchesOf(teamId, true);
    try {
      for (let i = 0; i < 8; i++) expect((await v1(key)).status).toBe(200);
      await eventually(async () => (await successfulCalls(teamId)) === 10, 8000);
      // written at once, each record would be a statement of its own (8)
      expect(batches.count()).toBeGreaterThanOrEqual(1);
      expect(batches.count()).toBeLessThanOrEqual(2);
      expect(prepared.count()).toBe(batches.count());
    } finally {
      batches.stop();
      prepared.stop();
    }
    expect((await busy).status).toBe(200);
    // the lease goes back after LEASE_IDLE_MS: the books as SPEC §5 states them
    const row = await w.settled(teamId, 20_000);
    expect(row).toMatchObject({ used: 11, held: 0 });
    expect(row.ledger_sum).toBe(row.allocated - row.used);
  }, 40_000);

  it('calls a client sends back to back share a statement, though none overlaps another', async () => {
    const { teamId, key } = await leasedTeam();
    const batches = batchesOf(teamId);
    try {
      for (let i = 0; i < 8; i++) expect((await v1(key)).status).toBe(200);
      await eventually(async () => (await successfulCalls(teamId)) === 10, 8000);
      // written at the first moment with no request in flight, each would be a statement (8)
      expect(batches.count()).toBeGreaterThanOrEqual(1);
      expect(batches.count()).toBeLessThanOrEqual(3);
    } finally {
      batches.stop();
    }
  }, 20_000);

  it('with no request in flight a record is written at once, not after JOURNAL_FLUSH_MS', async () => {
    const { teamId, key } = await leasedTeam();
    expect((await v1(key)).status).toBe(200);
    const answeredAt = Date.now();
    await eventually(async () => (await successfulCalls(teamId)) === 3, 5000, 20);
    expect(Date.now() - answeredAt).toBeLessThan(2000);
  }, 20_000);

  it('a balance read on the replica writes the queued records first, without waiting', async () => {
    const { teamId, key } = await leasedTeam();
    const busy = v1(key, slow);
    for (let i = 0; i < 4; i++) expect((await v1(key)).status).toBe(200);
    // the replica is busy: the records are in Redis, waiting for their batch
    expect(await successfulCalls(teamId)).toBeLessThan(6);
    const balance = await call(w.gateway.url, 'GET', '/api/credits/balance', { bearer: key });
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({ credits_used: 6 });
    expect(await successfulCalls(teamId)).toBe(6);
    expect((await busy).status).toBe(200);
  }, 20_000);

  it('written records leave the Redis stream (with the next append, or within a second)', async () => {
    const { teamId, key } = await leasedTeam();
    const stream = w.gateway.app.get(CallJournal).streamKey;
    const redis = new Redis(process.env.REDIS_URL!);
    const entriesOfTeam = async () =>
      (await redis.xrange(stream, '-', '+')).filter(([, fields]) => fields[1]?.includes(teamId))
        .length;
    try {
      // written (successfulCalls saw them), then gone from the stream with no further call
      await eventually(async () => (await entriesOfTeam()) === 0, 5000);
      for (let i = 0; i < 3; i++) expect((await v1(key)).status).toBe(200);
      await eventually(async () => (await successfulCalls(teamId)) === 5, 5000);
      await eventually(async () => (await entriesOfTeam()) === 0, 5000);
    } finally {
      redis.disconnect();
    }
  });
});
