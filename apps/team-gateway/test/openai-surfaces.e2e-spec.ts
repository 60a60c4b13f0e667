import OpenAI, { APIError } from 'openai';
import { RunningApp, startGateway, uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { countTokens, fakeEmbedding } from '../../../test/fake-upstream/replies';
import { mockEmbedding } from '../src/providers/mock.adapter';
import { World } from './gateway-fixtures';

/** Every team is leased from its first call (the default leases only busy teams). */
const LEASED = { LEASE_MIN_CALLS_PER_SECOND: '0', LEASE_IDLE_MS: '300' };

/**
 * `/v1/embeddings` and the legacy `/v1/completions` through the official openai SDK, metered by
 * the one call pipeline; and cache-aware prices on both metering paths (exact and leased).
 */
describe('OpenAI embeddings, legacy completions and cache-aware prices (openai SDK)', () => {
  let w: World;
  let leased: RunningApp;

  beforeAll(async () => {
    w = await World.start();
    leased = await startGateway(LEASED);
  });
  afterAll(async () => {
    await leased.close();
    await w.stop();
  });
  beforeEach(() => w.fake.reset());

  const sdk = (apiKey: string, base = w.gateway.url) =>
    new OpenAI({ apiKey, baseURL: `${base}/v1`, maxRetries: 0 });

  const thrown = async (work: Promise<unknown>): Promise<APIError> => {
    try {
      await work;
    } catch (err) {
      if (err instanceof APIError) return err;
      throw err;
    }
    throw new Error('expected the request to fail');
  };

  /** A deployment of another provider, straight into the catalog (same fake base URL). */
  async function deployment(provider: 'mock' | 'anthropic', prices = { input: 2, output: 8 }) {
    const model = uid(provider);
    const group = uid('group');
    await w.pg.query(
      `INSERT INTO model_deployments (model_name, provider, provider_model, api_base,
         input_price_per_million, output_price_per_million)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [model, provider, `${model}-upstream`, `${w.fake.url}/v1`, prices.input, prices.output],
    );
    await w.group(group, [model]);
    return { model, group };
  }

  /** USD-metered team: 1,000,000 credits per dollar, so a credit is a micro-dollar. */
  const usdTeam = (groups: string[], credits = 1_000_000, markup = 0) =>
    w.team({
      groups,
      credits,
      budget_mode: 'consumption_usd',
      credits_per_dollar: 1_000_000,
      cost_markup_percentage: markup,
    });

  async function callRows(teamId: string) {
    const rows = await w.pg.query(
      `SELECT c.job_id, j.job_type, j.status AS job_status, c.status, c.streamed, c.model_name,
              c.prompt_tokens, c.completion_tokens, c.total_tokens, c.cached_tokens,
              c.cache_write_tokens, c.reasoning_tokens, c.provider_cost_usd::float8 AS provider_cost,
              c.client_cost_usd::float8 AS client_cost, c.credits_charged::int AS credits
         FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id
        WHERE c.team_id = $1 ORDER BY c.created_at`,
      [teamId],
    );
    return rows.rows as Array<Record<string, any>>;
  }

  async function deductions(teamId: string) {
    const rows = await w.pg.query(
      `SELECT credits_amount::int AS amount, credits_before::int AS before,
              credits_after::int AS after, job_id
         FROM credit_transactions WHERE team_id = $1 AND transaction_type = 'deduction'
        ORDER BY created_at`,
      [teamId],
    );
    return rows.rows as Array<{ amount: number; before: number; after: number; job_id: string }>;
  }

  /** The books balance: ledger = allocated − used, nothing held. */
  async function books(teamId: string) {
    const row = await w.settled(teamId);
    expect(row.ledger_sum).toBe(row.allocated - row.used);
    expect(row).toMatchObject({ held: 0, holds: 0 });
    return row;
  }

  describe('POST /v1/embeddings', () => {
    it('embeds a string (the SDK asks base64 and decodes), billed for its input tokens exactly', async () => {
      const { model, group } = await w.modelInGroup({ input: 0.02, output: 99 });
      const { teamId, key } = await usdTeam([group], 1_000_000, 50);
      const text = 'The food was delicious and the waiter was kind';
      const { data: res, response } = await sdk(key)
        .embeddings.create({ model: group, input: text, user: 'eve' })
        .withResponse();
      expect(res.object).toBe('list');
      expect(res.model).toBe(model);
      expect(res.data).toHaveLength(1);
      expect(res.data[0]).toMatchObject({ object: 'embedding', index: 0 });
      expect(res.data[0].embedding).toEqual(fakeEmbedding(model, text, 8));
      const tokens = countTokens(text);
      expect(res.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });

      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/embeddings');
      expect(upstream.body).toEqual({
        model,
        input: text,
        encoding_format: 'base64',
        user: 'eve',
      });

      // input tokens at the input price only; +50% markup; 1 credit per micro-dollar
      const provider = (tokens * 0.02) / 1e6;
      const [row] = await callRows(teamId);
      expect(row).toMatchObject({
        job_id: response.headers.get('x-job-id'),
        job_type: 'embeddings',
        job_status: 'completed',
        status: 'success',
        prompt_tokens: tokens,
        completion_tokens: 0,
        total_tokens: tokens,
      });
      expect(row.provider_cost).toBeCloseTo(provider, 12);
      expect(row.client_cost).toBeCloseTo(provider * 1.5, 12);
      const credits = Math.ceil(provider * 1.5 * 1e6 - 1e-9);
      expect(row.credits).toBe(credits);
      expect(await deductions(teamId)).toEqual([
        { amount: -credits, before: 1_000_000, after: 1_000_000 - credits, job_id: row.job_id },
      ]);
      expect(await books(teamId)).toMatchObject({ used: credits });
    });

    it('embeds an array as base64 and token arrays, with dimensions passed on', async () => {
      const { model, group } = await w.modelInGroup({ input: 1, output: 1 });
      const { teamId, key } = await w.team({
        groups: [group],
        credits: 1000,
        budget_mode: 'consumption_tokens',
        tokens_per_credit: 1,
      });
      const texts = ['first text', 'a second, longer text'];
      const res = await sdk(key).embeddings.create({
        model,
        input: texts,
        encoding_format: 'base64',
        dimensions: 4,
      });
      expect(res.data.map((d) => d.index)).toEqual([0, 1]);
      for (const [i, d] of res.data.entries()) {
        expect(typeof d.embedding).toBe('string');
        const bytes = Buffer.from(d.embedding as unknown as string, 'base64');
        const floats = Array.from(
          new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
        );
        expect(floats).toEqual(fakeEmbedding(model, texts[i], 4));
      }
      expect(w.fake.requests.at(-1)!.body).toMatchObject({ dimensions: 4, input: texts });
      const textTokens = countTokens(texts[0]) + countTokens(texts[1]);
      expect(res.usage.prompt_tokens).toBe(textTokens);

      const tokens = await sdk(key).embeddings.create({
        model,
        input: [
          [1, 2, 3],
          [4, 5],
        ],
        encoding_format: 'float',
      });
      expect(tokens.data[1].embedding).toEqual(fakeEmbedding(model, [4, 5], 8));
      expect(tokens.usage.prompt_tokens).toBe(5);
      // consumption_tokens at 1 token a credit: the two calls cost their input tokens
      const rows = await callRows(teamId);
      expect(rows.map((r) => r.credits)).toEqual([textTokens, 5]);
      expect(await books(teamId)).toMatchObject({ used: textTokens + 5 });
    });

    it('the mock provider embeds deterministically, offline', async () => {
      const { model, group } = await deployment('mock');
      const { teamId, key } = await w.team({ groups: [group], credits: 10 });
      const first = await sdk(key).embeddings.create({ model, input: ['hi', 'there'] });
      const again = await sdk(key).embeddings.create({ model, input: ['hi', 'there'] });
      expect(again.data).toEqual(first.data);
      expect(first.data[0].embedding).toEqual(mockEmbedding(`${model}-upstream`, 'hi', 64));
      expect(first.data[0].embedding).not.toEqual(first.data[1].embedding);
      expect(w.fake.requests).toHaveLength(0);
      // job_based: one credit per completed one-call job
      expect(await books(teamId)).toMatchObject({ used: 2 });
    });

    it("drops fields OpenAI does not define: another team's team_id bills the caller", async () => {
      const { model, group } = await w.modelInGroup();
      const mine = await w.team({ groups: [group], credits: 10 });
      const other = await w.team({ groups: [group], credits: 10 });
      for (const [path, body] of [
        ['/v1/embeddings', { model, input: 'x' }],
        ['/v1/completions', { model, prompt: 'x' }],
      ] as const) {
        const res = await w.gw('POST', path, mine.key, { ...body, team_id: other.teamId });
        expect(res.status).toBe(200);
        expect(w.fake.requests.at(-1)!.body).not.toHaveProperty('team_id');
      }
      expect(await books(mine.teamId)).toMatchObject({ used: 2 });
      expect(await books(other.teamId)).toMatchObject({ used: 0 });
    });

    it('joins the open job named by X-Job-Id', async () => {
      const { model, group } = await w.modelInGroup();
      const { key } = await w.team({ groups: [group], credits: 10 });
      const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'rag' });
      const jobId = job.body.job_id as string;
      const { response } = await sdk(key)
        .embeddings.create({ model, input: 'x' }, { headers: { 'X-Job-Id': jobId } })
        .withResponse();
      expect(response.headers.get('x-job-id')).toBe(jobId);
      const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
      expect(costs.body.costs).toMatchObject({ total_calls: 1, successful_calls: 1 });
      expect(costs.body.calls[0]).toMatchObject({
        prompt_tokens: 1,
        completion_tokens: 0,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
      });
    });

    it('refuses without an upstream call or a charge: no credits 403, not allowed 403, unknown 404, cannot embed 400, bad input 400', async () => {
      const { model, group } = await w.modelInGroup();
      const other = await w.modelInGroup();
      const anthropic = await deployment('anthropic');
      const broke = await usdTeam([group], 0);
      const rich = await usdTeam([group, anthropic.group]);

      const noCredits = await thrown(sdk(broke.key).embeddings.create({ model, input: 'x' }));
      expect(noCredits.status).toBe(403);
      expect(noCredits.code).toBe('insufficient_quota');

      const denied = await thrown(
        sdk(rich.key).embeddings.create({ model: other.model, input: 'x' }),
      );
      expect(denied.status).toBe(403);
      expect(denied.code).toBe('model_access_denied');

      const unknown = await thrown(
        sdk(rich.key).embeddings.create({ model: uid('no'), input: 'x' }),
      );
      expect(unknown.status).toBe(404);
      expect(unknown.code).toBe('model_not_found');

      const cannot = await thrown(
        sdk(rich.key).embeddings.create({ model: anthropic.model, input: 'x' }),
      );
      expect(cannot.status).toBe(400);
      expect(cannot.type).toBe('invalid_request_error');
      expect(cannot.message).toMatch(/does not support embeddings/);

      const bad = await call(w.gateway.url, 'POST', '/v1/embeddings', {
        bearer: rich.key,
        body: { model, input: ['ok', 3] },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param: 'input' });

      const noKey = await call(w.gateway.url, 'POST', '/v1/embeddings', {
        body: { model, input: 'x' },
      });
      expect(noKey.status).toBe(401);
      expect(noKey.body.error.code).toBe('invalid_api_key');

      expect(w.fake.requests).toHaveLength(0);
      for (const team of [broke, rich]) {
        expect(await callRows(team.teamId)).toEqual([]);
        expect(await books(team.teamId)).toMatchObject({ used: 0 });
      }
    });

    it('race: 60 concurrent embeddings on a balance that pays for 12 → exactly 12 served and charged', async () => {
      const { group } = await w.modelInGroup();
      // 'abcdefgh' = 2 tokens, 1 token a credit: every call holds and costs exactly 2 credits
      const { teamId, key } = await w.team({
        groups: [group],
        credits: 25,
        budget_mode: 'consumption_tokens',
        tokens_per_credit: 1,
      });
      const client = sdk(key);
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, () =>
          client.embeddings.create({ model: group, input: 'abcdefgh' }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter(
        (r) =>
          r.status === 'rejected' &&
          r.reason instanceof APIError &&
          r.reason.status === 403 &&
          r.reason.code === 'insufficient_quota',
      ).length;
      expect({ ok, refused }).toEqual({ ok: 12, refused: 48 });
      expect(w.fake.requests).toHaveLength(12);
      const row = await books(teamId);
      expect(row).toMatchObject({ allocated: 25, used: 24 });
      const charged = await deductions(teamId);
      expect(charged).toHaveLength(12);
      expect(charged.every((d) => d.amount === -2)).toBe(true);
    });
  });

  describe('POST /v1/completions', () => {
    const PROMPT = 'Say this is a test';

    it('completes a prompt (non-stream) via the upstream /v1/completions, billed exactly', async () => {
      const { model, group } = await w.modelInGroup({ input: 3, output: 12 });
      const { teamId, key } = await usdTeam([group], 1_000_000, 20);
      const { data: res, response } = await sdk(key)
        .completions.create({ model: group, prompt: PROMPT, max_tokens: 40, temperature: 0 })
        .withResponse();
      const text = `Fake answer from ${model} to: ${PROMPT}`;
      expect(res).toMatchObject({
        object: 'text_completion',
        model,
        choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }],
      });
      expect(res.id).toMatch(/^cmpl-/);
      const prompt = countTokens(PROMPT);
      const completion = countTokens(text);
      expect(res.usage).toEqual({
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
      });
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/completions');
      expect(upstream.body).toEqual({ model, prompt: PROMPT, max_tokens: 40, temperature: 0 });

      const provider = (prompt * 3 + completion * 12) / 1e6;
      const [row] = await callRows(teamId);
      expect(row).toMatchObject({
        job_id: response.headers.get('x-job-id'),
        job_type: 'completions',
        job_status: 'completed',
        streamed: false,
        prompt_tokens: prompt,
        completion_tokens: completion,
      });
      expect(row.provider_cost).toBeCloseTo(provider, 12);
      const credits = Math.ceil(provider * 1.2 * 1e6 - 1e-9);
      expect(row.credits).toBe(credits);
      expect(await deductions(teamId)).toEqual([
        { amount: -credits, before: 1_000_000, after: 1_000_000 - credits, job_id: row.job_id },
      ]);
      expect(await books(teamId)).toMatchObject({ used: credits });
    });

    it('sends OpenAI’s default max_tokens 16 and reports a cut answer as length', async () => {
      const { model, group } = await w.modelInGroup();
      const { key } = await w.team({ groups: [group] });
      const res = await sdk(key).completions.create({ model, prompt: [PROMPT.repeat(5)] });
      expect(w.fake.requests.at(-1)!.body.max_tokens).toBe(16);
      expect(res.choices[0].finish_reason).toBe('length');
      expect(res.usage?.completion_tokens).toBe(16);
    });

    it('streams text_completion chunks, usage when asked, then [DONE]; billed as streamed', async () => {
      const { model, group } = await w.modelInGroup({ input: 3, output: 12 });
      const { teamId, key } = await usdTeam([group]);
      w.fake.setBehavior({ chunks: 4 });
      const stream = await sdk(key).completions.create({
        model,
        prompt: PROMPT,
        max_tokens: 40,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Completions.Completion[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      const text = `Fake answer from ${model} to: ${PROMPT}`;
      expect(chunks.every((c) => c.object === 'text_completion' && c.model === model)).toBe(true);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(text);
      expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop']);
      const usage = chunks.at(-1)!.usage!;
      expect(chunks.at(-1)!.choices).toEqual([]);
      expect(usage).toEqual({
        prompt_tokens: countTokens(PROMPT),
        completion_tokens: countTokens(text),
        total_tokens: countTokens(PROMPT) + countTokens(text),
      });
      expect(w.fake.requests.at(-1)!.body).toMatchObject({
        prompt: PROMPT,
        stream: true,
        stream_options: { include_usage: true },
      });
      const [row] = await callRows(teamId);
      expect(row).toMatchObject({
        job_type: 'completions',
        job_status: 'completed',
        status: 'success',
        streamed: true,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
      });
      const credits = Math.ceil(usage.prompt_tokens * 3 + usage.completion_tokens * 12 - 1e-9);
      expect(row.credits).toBe(credits);
      expect(await books(teamId)).toMatchObject({ used: credits });
    });

    it('the mock provider completes and streams legacy completions', async () => {
      const { model, group } = await deployment('mock');
      const { key } = await w.team({ groups: [group] });
      const plain = await sdk(key).completions.create({ model, prompt: 'ping', max_tokens: 50 });
      expect(plain.choices[0].text).toBe('Mock response to: ping');
      const stream = await sdk(key).completions.create({
        model,
        prompt: 'ping',
        max_tokens: 50,
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
      expect(text).toBe('Mock response to: ping');
      expect(w.fake.requests).toHaveLength(0);
    });

    it('a client that aborts mid-stream is still billed for what was generated', async () => {
      const { model, group } = await w.modelInGroup({ input: 1, output: 1 });
      const { teamId, key } = await w.team({
        groups: [group],
        credits: 10_000,
        budget_mode: 'consumption_tokens',
        tokens_per_credit: 1,
      });
      const long = 'A long answer that arrives slowly, piece by piece, from the fake upstream.';
      w.fake.setBehavior({ mode: 'slow', content: long, chunks: 20, chunkDelayMs: 50, delayMs: 0 });
      const stream = await sdk(key).completions.create({
        model,
        prompt: PROMPT,
        max_tokens: 100,
        stream: true,
      });
      let seen = 0;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.text) seen += 1;
        if (seen === 3) break; // leaving the loop aborts the request
      }
      await eventually(() => Promise.resolve(w.fake.closedByClient === 1), 3000);
      let rows: Array<Record<string, any>> = [];
      // the call row is settled first, then the one-call job is closed
      await eventually(async () => {
        rows = await callRows(teamId);
        return rows.length === 1 && rows[0].job_status !== 'in_progress';
      }, 5000);
      expect(rows[0]).toMatchObject({ status: 'aborted', streamed: true, job_status: 'completed' });
      expect(rows[0].completion_tokens).toBeGreaterThan(0);
      expect(rows[0].completion_tokens).toBeLessThan(countTokens(long));
      expect(rows[0].credits).toBe(rows[0].total_tokens);
      expect(await books(teamId)).toMatchObject({ used: rows[0].total_tokens });
    });

    it('race: 40 concurrent completions, streamed and not, on 12 credits → exactly 12 served, upstream called 12 times', async () => {
      const { group } = await w.modelInGroup();
      const { teamId, key } = await w.team({ groups: [group], credits: 12 }); // job_based
      const client = sdk(key);
      const one = async (i: number) => {
        if (i % 2 === 0) {
          await client.completions.create({ model: group, prompt: PROMPT, max_tokens: 5 });
          return;
        }
        const stream = await client.completions.create({
          model: group,
          prompt: PROMPT,
          max_tokens: 5,
          stream: true,
        });
        for await (const chunk of stream) void chunk;
      };
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => one(i)));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter(
        (r) => r.status === 'rejected' && r.reason instanceof APIError && r.reason.status === 403,
      ).length;
      expect({ ok, refused }).toEqual({ ok: 12, refused: 28 });
      expect(w.fake.requests).toHaveLength(12);
      const row = await books(teamId);
      expect(row).toMatchObject({ allocated: 12, used: 12 });
      expect(await deductions(teamId)).toHaveLength(12);
    });

    it('refuses without an upstream call or a charge: other providers 400, no credits 403, unknown 404, echo 400', async () => {
      const { model, group } = await w.modelInGroup();
      const anthropic = await deployment('anthropic');
      const broke = await usdTeam([group], 0);
      const rich = await usdTeam([group, anthropic.group]);
      for (const stream of [false, true] as const) {
        const cannot = await thrown(
          sdk(rich.key).completions.create({ model: anthropic.model, prompt: 'x', stream }),
        );
        expect(cannot.status).toBe(400);
        expect(cannot.message).toMatch(/does not support legacy completions/);
        const noCredits = await thrown(
          sdk(broke.key).completions.create({ model, prompt: 'x', stream }),
        );
        expect(noCredits.status).toBe(403);
        expect(noCredits.code).toBe('insufficient_quota');
        const unknown = await thrown(
          sdk(rich.key).completions.create({ model: uid('no'), prompt: 'x', stream }),
        );
        expect(unknown.status).toBe(404);
      }
      const echo = await thrown(
        sdk(rich.key).completions.create({ model, prompt: 'x', echo: true }),
      );
      expect(echo.status).toBe(400);
      expect(echo.param).toBe('echo');
      const two = await thrown(sdk(rich.key).completions.create({ model, prompt: ['a', 'b'] }));
      expect(two.status).toBe(400);
      expect(two.param).toBe('prompt');
      expect(w.fake.requests).toHaveLength(0);
      for (const team of [broke, rich]) {
        expect(await callRows(team.teamId)).toEqual([]);
        expect(await books(team.teamId)).toMatchObject({ used: 0 });
      }
    });
  });

  describe('cache-aware prices', () => {
    // 10,000 prompt tokens: 6,000 read from the cache, 1,000 written to it; 2,000 completion
    // tokens of which 500 reasoning. At $3 / $15 / cached $0.30 / write $3.75 per million:
    // (3,000×3 + 6,000×0.3 + 1,000×3.75 + 2,000×15) / 1e6 = $0.04455; +50% = $0.066825.
    const USAGE = { prompt_tokens: 10_000, completion_tokens: 2_000 };
    const DETAILS = { cached: 6_000, cacheWrite: 1_000, reasoning: 500 };

    async function cachedModel() {
      const { model, group } = await w.modelInGroup({ input: 3, output: 15 });
      await w.pg.query(
        `UPDATE model_deployments SET cached_input_price_per_million = 0.3,
                cache_write_price_per_million = 3.75 WHERE model_name = $1`,
        [model],
      );
      return { model, group };
    }

    async function expectCachedBilling(teamId: string, streamed: boolean) {
      const [row] = await callRows(teamId);
      expect(row).toMatchObject({
        status: 'success',
        streamed,
        prompt_tokens: 10_000,
        completion_tokens: 2_000,
        cached_tokens: 6_000,
        cache_write_tokens: 1_000,
        reasoning_tokens: 500,
        provider_cost: 0.04455,
        client_cost: 0.066825,
        credits: 66_825,
      });
      expect(await deductions(teamId)).toEqual([
        { amount: -66_825, before: 1_000_000, after: 933_175, job_id: row.job_id },
      ]);
      expect(await books(teamId)).toMatchObject({ used: 66_825 });
      return row;
    }

    it.each([
      ['exact (held in PostgreSQL)', false, false],
      ['exact, streamed', false, true],
      ['leased (journal)', true, false],
      ['leased (journal), streamed', true, true],
    ])(
      '%s: cached, cache-write and reasoning tokens are kept and billed at their prices',
      async (_name, viaLease, stream) => {
        const { model, group } = await cachedModel();
        const { teamId, key } = await usdTeam([group], 1_000_000, 50);
        w.fake.setBehavior({ usage: USAGE, details: DETAILS });
        const client = sdk(key, viaLease ? leased.url : w.gateway.url);
        const messages = [{ role: 'user' as const, content: 'cached prompt' }];
        let jobId: string | null;
        if (stream) {
          const { data, response } = await client.chat.completions
            .create({ model, messages, stream: true, stream_options: { include_usage: true } })
            .withResponse();
          jobId = response.headers.get('x-job-id');
          let usage: OpenAI.CompletionUsage | undefined;
          for await (const chunk of data) usage = chunk.usage ?? usage;
          expect(usage).toMatchObject({ prompt_tokens: 10_000, completion_tokens: 2_000 });
        } else {
          const { data, response } = await client.chat.completions
            .create({ model, messages })
            .withResponse();
          jobId = response.headers.get('x-job-id');
          expect(data.usage).toMatchObject({
            prompt_tokens_details: { cached_tokens: 6_000, cache_write_tokens: 1_000 },
            completion_tokens_details: { reasoning_tokens: 500 },
          });
        }
        const leases = await w.pg.query(
          'SELECT count(*)::int AS n FROM credit_leases WHERE team_id = $1',
          [teamId],
        );
        expect(leases.rows[0].n > 0).toBe(viaLease);
        const row = await expectCachedBilling(teamId, stream);
        expect(row.job_id).toBe(jobId);
        const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
        expect(costs.body.calls[0]).toMatchObject({
          prompt_tokens: 10_000,
          cached_tokens: 6_000,
          cache_write_tokens: 1_000,
          reasoning_tokens: 500,
          cost_usd: 0.066825,
        });
      },
    );

    it('without cache prices, cached tokens bill at the input price', async () => {
      const { model, group } = await w.modelInGroup({ input: 3, output: 15 });
      const { teamId, key } = await usdTeam([group], 1_000_000, 50);
      w.fake.setBehavior({ usage: USAGE, details: DETAILS });
      await sdk(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
      const [row] = await callRows(teamId);
      // (10,000×3 + 2,000×15) / 1e6 = $0.06; +50% = $0.09
      expect(row).toMatchObject({ cached_tokens: 6_000, provider_cost: 0.06, credits: 90_000 });
    });

    it('the admin API sets, returns, clears and validates the cache prices', async () => {
      const created = await call(w.admin.url, 'POST', '/api/models/create', {
        admin: true,
        body: {
          model_name: uid('cache'),
          provider: 'mock',
          provider_model: 'm',
          input_price_per_million: 3,
          output_price_per_million: 15,
          cached_input_price_per_million: 0.3,
          cache_write_price_per_million: 3.75,
        },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        cached_input_price_per_million: 0.3,
        cache_write_price_per_million: 3.75,
      });
      const id = created.body.model_id as string;
      const cleared = await call(w.admin.url, 'PUT', `/api/models/${id}`, {
        admin: true,
        body: { cached_input_price_per_million: null },
      });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({
        cached_input_price_per_million: null,
        cache_write_price_per_million: 3.75,
      });
      const plain = await call(w.admin.url, 'POST', '/api/models/create', {
        admin: true,
        body: {
          model_name: uid('plain'),
          provider: 'mock',
          provider_model: 'm',
          input_price_per_million: 1,
          output_price_per_million: 1,
        },
      });
      expect(plain.body).toMatchObject({
        cached_input_price_per_million: null,
        cache_write_price_per_million: null,
      });
      for (const bad of [-1, '0.3', 2_000_000]) {
        const res = await call(w.admin.url, 'PUT', `/api/models/${id}`, {
          admin: true,
          body: { cache_write_price_per_million: bad },
        });
        expect(res.status).toBe(400);
      }
    });
  });
});
