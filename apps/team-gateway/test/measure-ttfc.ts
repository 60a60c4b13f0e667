/**
 * Time to first chunk added by the gateway: the same client asks the fake upstream directly and
 * through the built gateway (a real child process), interleaved, and compares the medians.
 * Run: DATABASE_URL=… REDIS_URL=… npx ts-node -r tsconfig-paths/register apps/team-gateway/test/measure-ttfc.ts [runs]
 * Not a test: numbers only, nothing asserted.
 */
import globalSetup from '../../../test/global-setup';
import { buildStaleApps } from '../../../test/helpers/build';
import { spawnGateway } from './gateway-process';
import { hello, World } from './gateway-fixtures';
import { postSse } from './sse-client';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function firstChunkMs(start: () => ReturnType<typeof postSse>): Promise<number> {
  const t0 = performance.now();
  const res = await start();
  if (res.status !== 200)
    throw new Error(`status ${res.status}: ${JSON.stringify(await res.json())}`);
  await res.events.next();
  const ms = performance.now() - t0;
  for await (const _ of res.events) {
    // drain to the end so every run leaves nothing behind
  }
  return ms;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 200);
  await globalSetup();
  buildStaleApps(['team-gateway']); // run outside jest: no global setup built it
  const w = await World.start();
  const gateway = await spawnGateway({ LOG_LEVEL: 'warn' });
  try {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_usd',
    });
    w.fake.setBehavior({ mode: 'slow', delayMs: 0, chunkDelayMs: 5, chunks: 5 });
    const job = await fetch(`${gateway.url}/api/jobs/create`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ job_type: 'ttfc' }),
    }).then((r) => r.json() as Promise<{ job_id: string }>);
    const direct = () =>
      postSse(w.fake.url, '/v1/chat/completions', 'sk-direct', {
        model,
        messages: hello,
        stream: true,
        stream_options: { include_usage: true },
      });
    const viaGateway = () =>
      postSse(gateway.url, `/api/jobs/${job.job_id}/llm-call-stream`, key, {
        model,
        messages: hello,
      });
    const d: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < runs + 20; i++) {
      const [a, b] = [await firstChunkMs(direct), await firstChunkMs(viaGateway)];
      // the first 20 warm up pools and JIT
      if (i < 20) continue;
      d.push(a);
      g.push(b);
    }
    const fmt = (x: number) => x.toFixed(2);
    console.log(`runs: ${runs} (after 20 warm-up), sequential, loopback`);
    console.log(`direct upstream TTFC: median ${fmt(median(d))} ms, p90 ${fmt(p90(d))} ms`);
    console.log(`through gateway TTFC: median ${fmt(median(g))} ms, p90 ${fmt(p90(g))} ms`);
    const added = d.map((x, i) => g[i] - x);
    console.log(`added by the gateway: median ${fmt(median(added))} ms, p90 ${fmt(p90(added))} ms`);
  } finally {
    gateway.process.kill('SIGTERM');
    await gateway.exited;
    await w.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
