import { uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { ensureGatewayBuilt, GatewayProcess, spawnGateway } from './gateway-process';
import { hello, World } from './gateway-fixtures';
import { deltas, postSse, readAll, SseResponse } from './sse-client';
import { stalledClient } from './stalled-client';

const TEXT = 'A slow answer that is still being written when the gateway is told to stop.';

describe('graceful shutdown with streams in flight (real process)', () => {
  let w: World;
  let child: GatewayProcess | undefined;

  beforeAll(async () => {
    ensureGatewayBuilt();
    w = await World.start();
  }, 120_000);
  afterAll(async () => {
    if (child?.process.exitCode === null) child.process.kill('SIGKILL');
    await w.stop();
  });
  beforeEach(() => w.fake.reset());

  /** Three streams opened on the child, each read up to its first content chunk. */
  const threeStreams = async (key: string, model: string) => {
    const jobIds: string[] = [];
    const streams: SseResponse[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postSse(child!.url, '/api/jobs/create-and-call-stream', key, {
        job_type: 'shutdown',
        model,
        messages: hello,
      });
      expect(res.status).toBe(200);
      jobIds.push(res.headers.get('x-job-id') as string);
      streams.push(res);
    }
    const firsts = await Promise.all(streams.map((s) => s.events.next()));
    expect(firsts.every((f) => !f.done)).toBe(true);
    return { jobIds, streams, firsts: firsts.map((f) => f.value!) };
  };

  const callsOf = async (jobIds: string[]) =>
    (
      await w.pg.query(
        `SELECT c.status, c.error_class, c.completion_tokens,
                c.credits_charged::int AS credits_charged, j.status AS job_status
           FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id
          WHERE c.job_id = ANY($1)`,
        [jobIds],
      )
    ).rows as Array<{
      status: string;
      error_class: string | null;
      completion_tokens: number;
      credits_charged: number;
      job_status: string;
    }>;

  /** Sends SIGTERM once the fake upstream has received `n` requests. */
  const sigtermOnceUpstreamHas = async (n: number) => {
    await eventually(() => Promise.resolve(w.fake.requests.length === n), 10_000);
    child!.process.kill('SIGTERM');
  };

  it('lets in-flight streams finish, settles them and exits 0', async () => {
    child = await spawnGateway({ SHUTDOWN_TIMEOUT_MS: '15000' });
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], credits: 10 });
    w.fake.setBehavior({ mode: 'slow', content: TEXT, chunks: 10, chunkDelayMs: 100, delayMs: 0 });
    const { jobIds, streams, firsts } = await threeStreams(key, model);

    child.process.kill('SIGTERM');
    // no longer accepting new connections
    await eventually(
      () =>
        fetch(`${child!.url}/health`).then(
          () => false,
          () => true,
        ),
      2000,
    );

    const rests = await Promise.all(streams.map((s) => readAll(s.events)));
    for (const [i, rest] of rests.entries()) {
      expect(rest.at(-1)?.data).toBe('[DONE]');
      expect(deltas([firsts[i], ...rest])).toBe(TEXT);
    }
    expect(await child.exited).toBe(0);
    expect(child.output()).toContain('Shut down cleanly');

    const calls = await callsOf(jobIds);
    expect(calls).toHaveLength(3);
    for (const c of calls) expect(c).toMatchObject({ status: 'success', job_status: 'completed' });
    expect(await w.team_row(teamId)).toMatchObject({ used: 3, held: 0, holds: 0 });
  });

  it('past the deadline, cuts the streams with an error event, bills them and still exits 0', async () => {
    child = await spawnGateway({ SHUTDOWN_TIMEOUT_MS: '300' });
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({
      groups: [group],
      credits: 100_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    w.fake.setBehavior({ mode: 'slow', content: TEXT, chunks: 40, chunkDelayMs: 100, delayMs: 0 });
    const { jobIds, streams } = await threeStreams(key, model);

    child.process.kill('SIGTERM');
    const rests = await Promise.all(streams.map((s) => readAll(s.events)));
    for (const rest of rests) {
      expect(rest.at(-1)?.data).toBe('[DONE]');
      expect(rest.at(-2)?.json.error).toMatchObject({ code: 'shutting_down' });
    }
    expect(await child.exited).toBe(0);
    expect(w.fake.closedByClient).toBe(3);

    const calls = await callsOf(jobIds);
    expect(calls).toHaveLength(3);
    for (const c of calls) {
      expect(c.status).toBe('aborted');
      expect(c.completion_tokens).toBeGreaterThan(0);
      expect(c.credits_charged).toBeGreaterThan(0);
      expect(c.job_status).toBe('completed');
    }
    const team = await w.team_row(teamId);
    expect(team).toMatchObject({ held: 0, holds: 0 });
    expect(team.used).toBe(calls.reduce((sum, c) => sum + c.credits_charged, 0));
    expect(team.ledger_sum).toBe(team.allocated - team.used);
  });

  it('lets a slow non-stream call finish within the deadline: answered 200 and billed', async () => {
    child = await spawnGateway({ SHUTDOWN_TIMEOUT_MS: '15000' });
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], credits: 10 });
    w.fake.setBehavior({ mode: 'slow', delayMs: 1500 });
    const pending = call(child.url, 'POST', '/api/jobs/create-and-call', {
      bearer: key,
      body: { job_type: 'shutdown', model, messages: hello },
    });

    await sigtermOnceUpstreamHas(1);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.response.content).toContain('Fake answer');
    expect(await child.exited).toBe(0);
    expect(await callsOf([res.body.job_id as string])).toEqual([
      expect.objectContaining({ status: 'success', job_status: 'completed' }),
    ]);
    expect(await w.team_row(teamId)).toMatchObject({ used: 1, held: 0, holds: 0 });
  });

  it('past the deadline, cuts calls still waiting for the upstream: 503, recorded, holds released, exit 0', async () => {
    child = await spawnGateway({ SHUTDOWN_TIMEOUT_MS: '500' });
    const hanging = uid('hanging');
    const spare = uid('spare');
    const group = uid('group');
    await w.model(hanging);
    await w.model(spare);
    await w.group(group, [hanging, spare]);
    const { key, teamId } = await w.team({
      groups: [group],
      credits: 100_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    w.fake.setBehavior({ perModel: { [hanging]: { mode: 'hang' } } });
    const body = { model: group, messages: hello };
    const opts = { bearer: key, body: { job_type: 'shutdown', ...body } };
    const pending = [
      // a non-stream job call, a /v1 call, and a stream still waiting for its first chunk
      call(child.url, 'POST', '/api/jobs/create-and-call', opts),
      call(child.url, 'POST', '/v1/chat/completions', { bearer: key, body }),
      call(child.url, 'POST', '/api/jobs/create-and-call-stream', opts),
    ];

    await sigtermOnceUpstreamHas(3);
    const [job, v1, stream] = await Promise.all(pending);
    for (const res of [job, stream]) {
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ detail: 'Server is shutting down', code: 'SERVICE_UNAVAILABLE' });
    }
    expect(v1.status).toBe(503);
    expect(v1.body.error).toMatchObject({
      message: 'Server is shutting down',
      code: 'service_unavailable',
    });
    expect(await child.exited).toBe(0);
    // cut by the gateway, not failed over to the spare deployment
    expect(w.fake.requests.every((r) => r.body.model === hanging)).toBe(true);
    const rows = await w.pg.query(
      `SELECT c.status, c.error_class, c.credits_charged::int AS credits_charged,
              j.status AS job_status
         FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id
        WHERE j.team_id = $1`,
      [teamId],
    );
    expect(rows.rows).toHaveLength(3);
    for (const row of rows.rows) {
      expect(row).toEqual({
        status: 'aborted',
        error_class: null,
        credits_charged: 0,
        job_status: 'failed',
      });
    }
    expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0, holds: 0 });
  });

  it('settles a stream whose client stopped reading and still exits 0', async () => {
    // the write-stall timeout is far away: only the shutdown deadline can free this stream
    child = await spawnGateway({
      SHUTDOWN_TIMEOUT_MS: '500',
      UPSTREAM_STREAM_IDLE_TIMEOUT_MS: '600000',
    });
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1000,
    });
    const pieces = 1000;
    w.fake.setBehavior({
      mode: 'slow',
      content: 'x'.repeat(pieces * 32 * 1024),
      chunks: pieces,
      chunkDelayMs: 5,
      delayMs: 0,
    });
    const client = await stalledClient(child.url, '/api/jobs/create-and-call-stream', key, {
      job_type: 'shutdown',
      model,
      messages: hello,
    });
    try {
      const jobId = /x-job-id: (\S+)/i.exec(client.head)?.[1] as string;
      // the gateway's writes have backed up: the upstream is held back
      await eventually(async () => {
        const sent = w.fake.requests[0].chunkTimes.length;
        await new Promise((r) => setTimeout(r, 300));
        return w.fake.requests[0].chunkTimes.length === sent;
      }, 20_000);
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);

      const calls = await callsOf([jobId]);
      expect(calls).toEqual([
        expect.objectContaining({ status: 'aborted', job_status: 'completed' }),
      ]);
      expect(calls[0].completion_tokens).toBeGreaterThan(0);
      expect(w.fake.requests[0].finishedAt).toBeUndefined();
      const team = await w.team_row(teamId);
      expect(team).toMatchObject({ held: 0, holds: 0, used: calls[0].credits_charged });
      expect(team.ledger_sum).toBe(team.allocated - team.used);
    } finally {
      client.socket.destroy();
    }
  });
});
