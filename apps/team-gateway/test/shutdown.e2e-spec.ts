import { eventually } from '../../../test/helpers/http';
import { ensureGatewayBuilt, GatewayProcess, spawnGateway } from './gateway-process';
import { hello, World } from './gateway-fixtures';
import { deltas, postSse, readAll, SseResponse } from './sse-client';

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
        `SELECT c.status, c.completion_tokens, c.credits_charged::int AS credits_charged,
                j.status AS job_status
           FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id
          WHERE c.job_id = ANY($1)`,
        [jobIds],
      )
    ).rows as Array<{
      status: string;
      completion_tokens: number;
      credits_charged: number;
      job_status: string;
    }>;

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
});
