/**
 * The fake upstream as the benchmark runs it: `node -r ts-node/register/transpile-only
 * bench/upstream.ts PORT STREAM_CHUNK_DELAY_MS`. Same server as the e2e tests, with two changes
 * for long runs: the request log the tests read is emptied every second (it would otherwise grow
 * by every request of the run), and the model `bench-stream` spaces its stream chunks by
 * STREAM_CHUNK_DELAY_MS, so the first chunk arrives measurably before the end of the stream and
 * a gateway that buffered the stream would show it in its time to first chunk.
 */
import { startFakeUpstream } from '../test/fake-upstream/server';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 0);
  const chunkDelayMs = Number(process.argv[3] ?? 5);
  const fake = await startFakeUpstream({ port });
  fake.setBehavior({ perModel: { 'bench-stream': { chunkDelayMs } } });
  const forget = setInterval(() => {
    fake.requests.length = 0;
  }, 1000);
  console.log(`bench upstream on ${fake.url} (bench-stream chunk delay ${chunkDelayMs} ms)`);
  const stop = () => {
    clearInterval(forget);
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
