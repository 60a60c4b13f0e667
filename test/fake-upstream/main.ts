import { startFakeUpstream } from './server';

/** Runs the fake upstream standalone: `npx ts-node test/fake-upstream/main.ts [PORT]` (default 8090). */
async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8090);
  const fake = await startFakeUpstream({ port });
  console.log(
    `fake upstream listening on ${fake.url} (OpenAI: ${fake.url}/v1, Anthropic: ${fake.url})`,
  );
  const stop = () => void fake.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
