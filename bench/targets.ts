/**
 * The requests the benchmark sends: the fake upstream directly, Tollgate's OpenAI route (plain
 * and streamed), Tollgate jobs (`llm-call`, N calls per job), Portkey. Every Tollgate request
 * counts what the client was served, for the books.
 */
import type { BenchTeam } from './books';
import { expectJson, http, Reply, streamCall } from './load';

const MESSAGES = [{ role: 'user', content: 'Benchmark: say something short.' }];
/** Both bench deployments cost 1 $ per million prompt tokens and 2 $ per million completion tokens. */
export const PRICES = { input: 1, output: 2 };
export const CREDITS_PER_DOLLAR = 1000;

export const CHAT = { model: 'bench-model', messages: MESSAGES, max_tokens: 64 };
export const STREAM = {
  model: 'bench-stream',
  messages: MESSAGES,
  max_tokens: 64,
  stream: true,
  stream_options: { include_usage: true },
};

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A 200 whose body has `marker` (`"choices"` for a chat completion, `"call_id"` for an llm-call). */
function completion(reply: Reply, what: string, marker = '"choices"'): void {
  if (reply.status !== 200 || !reply.text.includes(marker)) {
    throw new Error(`${what}: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
  }
}

export const direct = (upstream: string) => async () =>
  completion(await http(`${upstream}/v1/chat/completions`, 'POST', CHAT), 'direct');

export const directStream = (upstream: string) => () =>
  streamCall(`${upstream}/v1/chat/completions`, STREAM, {});

export const portkey = (url: string, headers: Record<string, string>) => async () =>
  completion(await http(`${url}/v1/chat/completions`, 'POST', CHAT, headers), 'portkey');

/** Counts the request for the team's books: served when it succeeded, unclear when it did not. */
async function metered<T>(team: BenchTeam, work: () => Promise<T>, credits: (v: T) => number) {
  try {
    const value = await work();
    team.served += credits(value);
    return value;
  } catch (err) {
    team.unclear += 1;
    throw err;
  }
}

/** A job_based team pays one credit per completed one-call job. */
export const chat = (gateway: string, team: BenchTeam) => () =>
  metered(
    team,
    async () =>
      completion(
        await http(`${gateway}/v1/chat/completions`, 'POST', CHAT, bearer(team.key)),
        'chat',
      ),
    () => 1,
  );

export const chatStream = (gateway: string, team: BenchTeam) => () =>
  metered(
    team,
    () => streamCall(`${gateway}/v1/chat/completions`, STREAM, bearer(team.key)),
    () => 1,
  );

/** What a consumption_usd team (no markup) should pay for an answer: its usage, priced, rounded up. */
export function priceOf(usage: { prompt_tokens: number; completion_tokens: number }): number {
  const usd = (usage.prompt_tokens * PRICES.input + usage.completion_tokens * PRICES.output) / 1e6;
  return Math.ceil(usd * CREDITS_PER_DOLLAR - 1e-9);
}

/** A chat call with any key of a consumption team, priced from the usage it answered with. */
export const pricedChat = (gateway: string, team: BenchTeam, key: string) =>
  metered(
    team,
    async () => {
      const reply = await http(`${gateway}/v1/chat/completions`, 'POST', CHAT, bearer(key));
      completion(reply, 'chat');
      const usage = (
        JSON.parse(reply.text) as { usage?: { prompt_tokens: number; completion_tokens: number } }
      ).usage;
      if (!usage) throw new Error('chat: answer without usage');
      return usage;
    },
    priceOf,
  );

interface Job {
  id: string;
  team: BenchTeam;
  calls: number;
  ok: number;
}

/**
 * Jobs for `llm-call`: each slot (a worker, per team) uses its job for `callsPerJob` calls, then
 * opens another. Jobs are completed at the end (completed if a call succeeded, else failed), and
 * each completed one is a credit the team was served.
 */
export class JobPool {
  readonly all: Job[] = [];
  private readonly current = new Map<string, Job>();
  private readonly ready = new Map<string, Job[]>();

  constructor(private readonly callsPerJob: number) {}

  private async open(gateway: string, team: BenchTeam): Promise<Job> {
    const reply = await http(
      `${gateway}/api/jobs/create`,
      'POST',
      { job_type: 'bench' },
      bearer(team.key),
    );
    const job = {
      id: expectJson<{ job_id: string }>(reply, 201, 'job create').job_id,
      team,
      calls: 0,
      ok: 0,
    };
    this.all.push(job);
    return job;
  }

  /** Opens the jobs a slot will need ahead of time (so the c=1 run counts only calls). */
  async precreate(slot: string, gateway: string, team: BenchTeam, calls: number): Promise<void> {
    const jobs: Job[] = [];
    for (let i = 0; i < Math.ceil(calls / this.callsPerJob); i++)
      jobs.push(await this.open(gateway, team));
    this.ready.set(slot, jobs);
  }

  /** The slot's job with calls left, opening one when needed (untimed: call it in `prepare`). */
  async ensure(slot: string, gateway: string, team: BenchTeam): Promise<void> {
    const job = this.current.get(slot);
    if (job && job.calls < this.callsPerJob && job.team === team) return;
    const next = this.ready.get(slot)?.shift() ?? (await this.open(gateway, team));
    this.current.set(slot, next);
  }

  async call(slot: string, gateway: string): Promise<void> {
    const job = this.current.get(slot);
    if (!job) throw new Error(`llm-call: no job for ${slot}`);
    job.calls += 1;
    const reply = await http(
      `${gateway}/api/jobs/${job.id}/llm-call`,
      'POST',
      { model: CHAT.model, messages: CHAT.messages, max_tokens: CHAT.max_tokens },
      bearer(job.team.key),
    );
    completion(reply, 'llm-call', '"call_id"');
    job.ok += 1;
  }

  /** Completes every job, 8 at a time; returns how many completions failed. */
  async completeAll(gateway: string): Promise<number> {
    let failed = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < this.all.length) {
          const job = this.all[next++];
          const status = job.ok > 0 ? 'completed' : 'failed';
          try {
            const reply = await http(
              `${gateway}/api/jobs/${job.id}/complete`,
              'POST',
              { status },
              bearer(job.team.key),
            );
            expectJson(reply, 200, `complete job ${job.id}`);
            if (status === 'completed') job.team.served += 1;
          } catch {
            failed += 1;
            job.team.unclear += 1;
          }
        }
      }),
    );
    this.current.clear();
    return failed;
  }
}

/**
 * A gateway's metered calls by path since it started (`tollgate_metered_calls_total`): lease = in
 * memory, exact = hold and settle in SQL.
 */
export async function meteredCalls(gateway: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${gateway}/metrics`)).text();
  const paths = [...text.matchAll(/^tollgate_metered_calls_total\{path="(\w+)"\} (\d+)/gm)];
  return Object.fromEntries(paths.map(([, path, count]) => [path, Number(count)]));
}

/** `exact 2, lease 11298`; with `since`, the calls made after that reading. */
export function formatMetered(
  now: Record<string, number>,
  since: Record<string, number> = {},
): string {
  const parts = Object.entries(now).map(([path, n]) => `${path} ${n - (since[path] ?? 0)}`);
  return parts.join(', ') || 'no metered calls';
}
