import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { getEventListeners } from 'node:events';
import { ShutdownCoordinator } from '../../../libs/http/src';
import { eventually } from '../../../test/helpers/http';
import { uid } from '../../../test/helpers/apps';
import { hello, World } from './gateway-fixtures';
import { postSse } from './sse-client';
import { stalledClient } from './stalled-client';

const TEXT = 'Streaming text that takes a while to arrive, piece by piece, from the fake upstream.';

describe('client aborts on SSE streams', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start({ UPSTREAM_TIMEOUT_MS: '2500' });
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  const newJob = async (key: string): Promise<string> => {
    const res = await w.gw('POST', '/api/jobs/create', key, { job_type: 'abort' });
    expect(res.status).toBe(201);
    return res.body.job_id as string;
  };

  /** Opens a stream and reads until `contentEvents` content deltas arrived. */
  const openAndRead = async (key: string, jobId: string, model: string, contentEvents: number) => {
    const res = await postSse(w.gateway.url, `/api/jobs/${jobId}/llm-call-stream`, key, {
      model,
      messages: hello,
    });
    expect(res.status).toBe(200);
    let seen = 0;
    while (seen < contentEvents) {
      const next = await res.events.next();
      if (next.done) throw new Error('stream ended early');
      if (next.value.json?.choices?.[0]?.delta?.content) seen += 1;
    }
    return res;
  };

  it('aborts the upstream promptly, records the call as aborted and bills what was generated', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({
      groups: [group],
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    w.fake.setBehavior({ mode: 'slow', content: TEXT, chunks: 20, chunkDelayMs: 50, delayMs: 0 });
    const jobId = await newJob(key);

    const res = await openAndRead(key, jobId, model, 3);
    res.abort();

    // the fake upstream sees its connection closed by the gateway before it finished
    await eventually(() => Promise.resolve(w.fake.closedByClient === 1), 2000);
    const upstream = w.fake.requests[0];
    expect(upstream.finishedAt).toBeUndefined();
    expect(upstream.chunkTimes.length).toBeLessThan(20);

    let row: Record<string, number | string> | undefined;
    await eventually(async () => {
      const rows = await w.pg.query(
        `SELECT status, completion_tokens, total_tokens, credits_charged::int AS credits_charged,
                streamed
           FROM llm_calls WHERE job_id = $1`,
        [jobId],
      );
      row = rows.rows[0] as typeof row;
      return row !== undefined;
    });
    expect(row).toMatchObject({ status: 'aborted', streamed: true });
    expect(row?.completion_tokens).toBeGreaterThan(0);
    expect(row?.credits_charged).toBe(row?.total_tokens);
    const team = await w.team_row(teamId);
    expect(team).toMatchObject({ holds: 0, held: 0, used: row?.total_tokens });
    expect(team.ledger_sum).toBe(team.allocated - team.used);
  });

  it('a client gone before the first chunk is no upstream failure: no fallback, recorded as aborted', async () => {
    const slow = uid('slow');
    const spare = uid('spare');
    const group = uid('group');
    await w.model(slow);
    await w.model(spare);
    await w.group(group, [slow, spare]);
    const { key, teamId } = await w.team({ groups: [group], budget_mode: 'consumption_tokens' });
    w.fake.setBehavior({ perModel: { [slow]: { mode: 'hang' } } });
    const failures = async () => {
      const text = await (await fetch(`${w.gateway.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(
            'tollgate_upstream_request_duration_seconds_count{provider="openai-compatible",outcome="connection"}',
          ),
        );
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await failures();
    const jobId = await newJob(key);
    const controller = new AbortController();
    const request = postSse(
      w.gateway.url,
      `/api/jobs/${jobId}/llm-call-stream`,
      key,
      { model: group, messages: hello },
      {},
      controller,
    );
    await eventually(() => Promise.resolve(w.fake.requests.length === 1), 5000);
    controller.abort();
    await expect(request).rejects.toThrow();

    let rows: Array<Record<string, unknown>> = [];
    await eventually(async () => {
      const result = await w.pg.query(
        `SELECT model_name, status, error_class, credits_charged::int AS credits_charged
           FROM llm_calls WHERE job_id = $1`,
        [jobId],
      );
      rows = result.rows as typeof rows;
      return rows.length > 0;
    });
    expect(rows).toEqual([
      { model_name: slow, status: 'aborted', error_class: null, credits_charged: 0 },
    ]);
    // the spare deployment was never asked, and no upstream failure was counted
    await new Promise((r) => setTimeout(r, 300));
    expect(w.fake.requests.map((r) => r.body.model)).toEqual([slow]);
    expect(await failures()).toBe(before);
    expect(await w.team_row(teamId)).toMatchObject({ holds: 0, held: 0, used: 0 });
  });

  it('leaks nothing when many streams are opened and aborted', async () => {
    const model = uid('model');
    const late = uid('late');
    const group = uid('group');
    await w.model(model);
    await w.model(late);
    await w.group(group, [model, late]);
    const { key, teamId } = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    w.fake.setBehavior({
      mode: 'slow',
      content: TEXT,
      chunks: 30,
      chunkDelayMs: 40,
      delayMs: 0,
      // `late` sends nothing for 2 s: its clients leave before the first byte
      perModel: { [late]: { delayMs: 2000 } },
    });
    const deadline = w.gateway.app.get(ShutdownCoordinator).deadline;
    // each idle pooled database connection has its idle timer: the pools' (bounded by their
    // size, and busier since calls are journaled), not the streams'
    const idlePoolTimers = () =>
      [w.gateway.app, w.admin.app].reduce(
        (n, app) => n + (app.get(DataSource).driver as PostgresDriver).master.idleCount,
        0,
      );
    const timers = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TTYWrap').length -
      idlePoolTimers();
    const N = 50;
    const EARLY = 10;

    /** EARLY streams whose clients leave while the gateway still waits for the first byte. */
    const leaveBeforeFirstByte = async (jobIds: string[]) => {
      const controllers = jobIds.map(() => new AbortController());
      const requests = jobIds.map((jobId, i) =>
        postSse(
          w.gateway.url,
          `/api/jobs/${jobId}/llm-call-stream`,
          key,
          { model: late, messages: hello },
          {},
          controllers[i],
        ),
      );
      const upstreamAsked = () => w.fake.requests.filter((r) => r.body.model === late).length;
      await eventually(() => Promise.resolve(upstreamAsked() === jobIds.length), 5000);
      for (const controller of controllers) controller.abort();
      for (const request of requests) await expect(request).rejects.toThrow();
    };

    /** N streams at once, half cut after the first chunk, half after a few; EARLY cut before any. */
    const round = async () => {
      w.fake.requests.length = 0;
      const jobIds = await Promise.all(Array.from({ length: N }, () => newJob(key)));
      const earlyIds = await Promise.all(Array.from({ length: EARLY }, () => newJob(key)));
      const [opened] = await Promise.all([
        Promise.all(jobIds.map((jobId, i) => openAndRead(key, jobId, model, 1 + (i % 2) * 3))),
        leaveBeforeFirstByte(earlyIds),
      ]);
      for (const res of opened) res.abort();
      await eventually(async () => {
        const rows = await w.pg.query(
          `SELECT count(*)::int AS n FROM llm_calls WHERE job_id = ANY($1) AND status = 'aborted'`,
          [[...jobIds, ...earlyIds]],
        );
        return (rows.rows[0] as { n: number }).n === N + EARLY;
      }, 10_000);
      return { jobIds, earlyIds };
    };

    const first = await round();
    await eventually(() => Promise.resolve(w.fake.openConnections() === 0), 8000);
    const baseline = { timers: timers(), deadline: getEventListeners(deadline, 'abort').length };

    const second = await round();
    const streamed = [...first.jobIds, ...second.jobIds];
    const early = [...first.earlyIds, ...second.earlyIds];
    // every call recorded once; what generated output is billed, what did not is free
    const calls = await w.pg.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE credits_charged > 0)::int AS charged,
              count(*) FILTER (WHERE completion_tokens > 0)::int AS with_tokens
         FROM llm_calls WHERE job_id = ANY($1)`,
      [streamed],
    );
    expect(calls.rows[0]).toEqual({ n: 2 * N, charged: 2 * N, with_tokens: 2 * N });
    const cut = await w.pg.query(
      `SELECT count(*)::int AS n, COALESCE(sum(credits_charged), 0)::int AS charged
         FROM llm_calls WHERE job_id = ANY($1) AND status = 'aborted'`,
      [early],
    );
    expect(cut.rows[0]).toEqual({ n: 2 * EARLY, charged: 0 });
    // and no hold is left open
    const holds = await w.pg.query(
      'SELECT count(*)::int AS n FROM credit_holds WHERE job_id = ANY($1)',
      [[...streamed, ...early]],
    );
    expect(holds.rows[0]).toEqual({ n: 0 });
    // a busy team's job calls are metered from a lease: nothing held once it is given back
    const team = await w.settled(teamId);
    expect(team).toMatchObject({ holds: 0, held: 0 });
    expect(team.ledger_sum).toBe(team.allocated - team.used);
    // every upstream socket was closed, all 2N of them by the gateway
    await eventually(() => Promise.resolve(w.fake.openConnections() === 0), 8000);
    expect(w.fake.closedByClient).toBe(2 * (N + EARLY));
    // nothing per-stream survives: listeners on the shutdown deadline, timers
    expect(getEventListeners(deadline, 'abort').length).toBe(baseline.deadline);
    expect(timers()).toBeLessThanOrEqual(baseline.timers + 2);
  });
});

describe('a client that stops reading but keeps its socket open', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start({ UPSTREAM_STREAM_IDLE_TIMEOUT_MS: '2000' });
  });
  afterAll(() => w.stop());

  it('is treated as gone after the stream idle timeout: upstream cut, call billed and settled', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1000,
    });
    // far more than socket buffers hold, and produced over several seconds
    const pieces = 1000;
    w.fake.setBehavior({
      mode: 'slow',
      content: 'x'.repeat(pieces * 32 * 1024),
      chunks: pieces,
      chunkDelayMs: 5,
      delayMs: 0,
    });
    const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'stall' });
    const jobId = job.body.job_id as string;

    const client = await stalledClient(w.gateway.url, `/api/jobs/${jobId}/llm-call-stream`, key, {
      model,
      messages: hello,
    });
    try {
      expect(client.head).toMatch(/^HTTP\/1\.1 200/);
      let row: Record<string, number | string> | undefined;
      await eventually(async () => {
        const rows = await w.pg.query(
          `SELECT status, streamed, total_tokens, completion_tokens,
                  credits_charged::int AS credits_charged
             FROM llm_calls WHERE job_id = $1`,
          [jobId],
        );
        row = rows.rows[0] as typeof row;
        return row !== undefined;
      }, 30_000);
      expect(row).toMatchObject({ status: 'aborted', streamed: true });
      expect(row?.completion_tokens).toBeGreaterThan(0);
      expect(row?.credits_charged).toBe(Math.ceil(Number(row?.total_tokens) / 1000));
      // the gateway closed the upstream before it had sent everything
      await eventually(() => Promise.resolve(w.fake.closedByClient === 1), 5000);
      expect(w.fake.requests[0].finishedAt).toBeUndefined();
      expect(w.fake.requests[0].chunkTimes.length).toBeLessThan(pieces);
      const team = await w.team_row(teamId);
      expect(team).toMatchObject({ holds: 0, held: 0, used: row?.credits_charged });
      expect(team.ledger_sum).toBe(team.allocated - team.used);
    } finally {
      client.socket.destroy();
    }
  });
});
