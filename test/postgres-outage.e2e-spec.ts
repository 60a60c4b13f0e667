import { setTimeout as sleep } from 'node:timers/promises';
import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { postSse, readAll } from '../apps/team-gateway/test/sse-client';
import { RunningApp, startGateway } from './helpers/apps';
import { call, eventually } from './helpers/http';
import { TcpProxy } from './helpers/tcp-proxy';

/** How long Postgres is away: short in `npm test`, 30 s in `npm run test:reliability`. */
const OUTAGE_MS = Number(process.env.OUTAGE_SECONDS ?? 4) * 1000;

type Phase = 'before' | 'outage' | 'after';

interface Answer {
  /** When it was sent, and when its answer came. */
  sent: Phase;
  done: Phase;
  team: string;
  status: number;
  jobId: string | null;
  code: string | null;
  retryAfter: string | null;
  /** A stream answered 200 ended with [DONE]. */
  complete: boolean;
}

/**
 * Reliability issue, item 2: PostgreSQL goes away (every connection reset, new ones refused)
 * under steady load on two gateway replicas. Calls inside a replica's current credit lease keep
 * being answered (streams too) and are recorded once Postgres is back; everything else answers
 * 503 DATABASE_UNAVAILABLE with Retry-After (never 500, never 401 for a valid key); afterwards
 * every answered call is in Postgres exactly once and the books are exact.
 */
describe('a PostgreSQL outage', () => {
  let proxy: TcpProxy;
  let w: World;
  let replicas: RunningApp[];
  let model: string;
  let phase: Phase = 'before';

  beforeAll(async () => {
    const direct = new URL(process.env.DATABASE_URL!);
    proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    // every team leases at once; journal records wait in Redis while Postgres is away
    const env = {
      DATABASE_URL: proxy.rewrite(process.env.DATABASE_URL!),
      LEASE_MIN_CALLS_PER_SECOND: '0',
    };
    w = await World.start(env);
    replicas = [w.gateway, await startGateway(env)];
    ({ group: model } = await w.modelInGroup());
  }, 60_000);

  afterAll(async () => {
    await proxy.up();
    await replicas[1]?.close();
    await w.stop();
    await proxy.down();
  });

  async function send(gw: RunningApp, team: string, key: string, stream: boolean) {
    const sent = phase;
    const body = { model, messages: hello, max_tokens: 5, stream };
    const answer: Answer = {
      sent,
      done: sent,
      team,
      status: 0,
      jobId: null,
      code: null,
      retryAfter: null,
      complete: false,
    };
    try {
      const res = await postSse(gw.url, '/v1/chat/completions', key, body);
      answer.status = res.status;
      answer.jobId = res.headers.get('x-job-id');
      answer.retryAfter = res.headers.get('retry-after');
      if (res.status === 200 && stream) {
        // [DONE] after an error event is a stream that failed
        const events = await readAll(res.events);
        answer.complete =
          events.at(-1)?.data === '[DONE]' && !events.some((e) => e.json?.error !== undefined);
      } else {
        const json = (await res.json()) as { error?: { code?: string } } | null;
        answer.code = json?.error?.code ?? null;
        answer.complete = res.status === 200;
      }
    } catch {
      // status 0: the gateway did not answer at all
    }
    answer.done = phase;
    return answer;
  }

  it(
    `keeps answering leased calls for ${OUTAGE_MS / 1000} s, and loses none`,
    async () => {
      const calls = await w.team({ groups: [model], credits: 1_000_000 });
      const streams = await w.team({ groups: [model], credits: 1_000_000 });
      // a valid key no replica has seen yet: it cannot be looked up while Postgres is away
      const quiet = await w.team({ groups: [model], credits: 1000 });
      const answers: Answer[] = [];
      let stopped = false;
      const loop = async (
        gw: RunningApp,
        team: { teamId: string; key: string },
        stream: boolean,
      ) => {
        while (!stopped) {
          answers.push(await send(gw, team.teamId, team.key, stream));
          await sleep(stream ? 20 : 10);
        }
      };
      const loops = replicas.flatMap((gw) => [
        loop(gw, calls, false),
        loop(gw, calls, false),
        loop(gw, streams, true),
      ]);

      // both replicas hold a lease for both teams before Postgres goes
      await eventually(async () => {
        const rows = await w.pg.query<{ n: number }>(
          'SELECT count(DISTINCT (team_id, replica_id))::int AS n FROM credit_leases WHERE team_id = ANY($1)',
          [[calls.teamId, streams.teamId]],
        );
        return rows.rows[0].n === 4;
      }, 15_000);
      await sleep(300);

      await proxy.down();
      phase = 'outage';
      const outageStarted = Date.now();
      const quietAnswer = await send(replicas[1], quiet.teamId, quiet.key, false);
      const health = await call(replicas[0].url, 'GET', '/health');
      const ready = await call(replicas[0].url, 'GET', '/health/ready');
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
      await proxy.up();
      phase = 'after';
      await sleep(1500);
      stopped = true;
      await Promise.all(loops);

      // while it was away: answered, or 503 with Retry-After; nothing else
      const during = answers.filter((a) => a.sent === 'outage' || a.done === 'outage');
      const unexpected = during.filter((a) => a.status !== 200 && a.status !== 503);
      expect(unexpected).toEqual([]);
      for (const a of during.filter((x) => x.status === 503)) {
        expect(a.code).toBe('database_unavailable');
        expect(Number(a.retryAfter)).toBeGreaterThan(0);
      }
      const answeredDuring = (team: string) =>
        during.filter((a) => a.team === team && a.status === 200 && a.complete).length;
      expect(answeredDuring(calls.teamId)).toBeGreaterThan(0);
      expect(answeredDuring(streams.teamId)).toBeGreaterThan(0);
      // a stream whose settle was cut by the outage ends with an error event, and is not charged
      const cutStreams = answers.filter((a) => a.status === 200 && !a.complete).length;
      expect([200, 503]).toContain(quietAnswer.status); // never 401 for a valid key
      expect(health.status).toBe(200);
      expect(ready.status).toBe(503);
      expect(answers.filter((a) => a.done === 'before' && a.status !== 200)).toEqual([]);
      expect(answers.some((a) => a.sent === 'after' && a.status === 200)).toBe(true);

      // once it is back: every answered call is in Postgres exactly once, and the books are exact
      for (const team of [calls, streams]) {
        const answered = answers
          .filter((a) => a.team === team.teamId && a.status === 200 && a.complete)
          .map((a) => a.jobId!);
        expect(new Set(answered).size).toBe(answered.length);
        const books = await w.settled(team.teamId, 30_000);
        const jobs = await w.pg.query<{ job_id: string; calls: number }>(
          `SELECT j.job_id, (SELECT count(*)::int FROM llm_calls c
                            WHERE c.job_id = j.job_id AND c.status = 'success') AS calls
           FROM jobs j WHERE j.team_id = $1 AND j.status = 'completed'`,
          [team.teamId],
        );
        const recorded = new Map(jobs.rows.map((r) => [r.job_id, r.calls]));
        expect(answered.filter((id) => recorded.get(id) !== 1)).toEqual([]);
        expect(recorded.size).toBe(answered.length); // nothing recorded that was not answered
        expect(books.used).toBe(answered.length); // job_based: one credit a job
        expect(books.ledger_sum).toBe(books.allocated - books.used);
        expect(books.held).toBe(0);
      }
      const figures = {
        outageSeconds: OUTAGE_MS / 1000,
        requests: answers.length,
        duringOutage: during.length,
        answeredDuringOutage: during.filter((a) => a.status === 200 && a.complete).length,
        streamsCutByTheOutage: cutStreams,
        refused503DuringOutage: during.filter((a) => a.status === 503).length,
        quietKey: quietAnswer.status,
      };
      // the figures for docs/reliability.md
      console.log(`postgres outage: ${JSON.stringify(figures)}`);
    },
    120_000 + OUTAGE_MS,
  );
});
