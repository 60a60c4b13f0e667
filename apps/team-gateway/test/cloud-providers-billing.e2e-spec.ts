import { FAKE_AZURE_KEY } from '../../../test/fake-upstream/azure';
import { FAKE_AWS } from '../../../test/fake-upstream/bedrock';
import { FAKE_GEMINI_KEY } from '../../../test/fake-upstream/gemini';
import { uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';
import { deltas, postSse, readAll } from './sse-client';

/**
 * A team calls /v1/chat/completions on deployments of azure-openai, gemini and bedrock, set up
 * through the admin API (credentials encrypted, never returned), stream and non-stream, and is
 * billed exactly: the call row keeps the provider's token counts, the ledger deducts them.
 */

const TEXT = 'Cloud providers answer through the same metered pipeline.';
const PRICE = { input: 2, output: 8 };

type Provider = 'azure-openai' | 'gemini' | 'bedrock';

interface CallRow {
  provider: string;
  provider_model: string;
  status: string;
  streamed: boolean;
  finish_reason: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  credits_charged: number;
  provider_cost_usd: string;
}

describe('azure-openai, gemini and bedrock deployments through the gateway', () => {
  let w: World;
  const credentials = {} as Record<Provider, string>;

  const admin = (method: string, path: string, body?: unknown) =>
    call(w.admin.url, method, path, { admin: true, body });

  beforeAll(async () => {
    w = await World.start();
    const bodies: Record<Provider, Record<string, unknown>> = {
      'azure-openai': {
        api_key: FAKE_AZURE_KEY,
        api_base: w.fake.url,
        api_version: '2024-10-21',
      },
      gemini: { api_key: FAKE_GEMINI_KEY, api_base: w.fake.url },
      bedrock: {
        aws_access_key_id: FAKE_AWS.accessKeyId,
        aws_secret_access_key: FAKE_AWS.secretAccessKey,
        aws_region: FAKE_AWS.region,
        api_base: w.fake.url,
      },
    };
    for (const provider of Object.keys(bodies) as Provider[]) {
      const res = await admin('POST', '/api/provider-credentials/create', {
        organization_id: w.org,
        provider,
        credential_name: uid(provider),
        ...bodies[provider],
      });
      expect(res.status).toBe(201);
      credentials[provider] = res.body.credential_id as string;
    }
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  /** A deployment of `provider` made through the admin API, in a group of a fresh team. */
  async function deployment(provider: Provider, providerModel: string) {
    const model = uid(provider);
    const res = await admin('POST', '/api/models/create', {
      model_name: model,
      provider,
      provider_model: providerModel,
      credential_id: credentials[provider],
      input_price_per_million: PRICE.input,
      output_price_per_million: PRICE.output,
    });
    expect(res.status).toBe(201);
    const group = uid('group');
    await w.group(group, [model]);
    const team = await w.team({
      groups: [group],
      credits: 1000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    return { model, ...team };
  }

  const callRows = async (teamId: string) =>
    (
      await w.pg.query(
        `SELECT provider, provider_model, status, streamed, finish_reason, prompt_tokens,
                completion_tokens, total_tokens, credits_charged::int AS credits_charged,
                provider_cost_usd
           FROM llm_calls WHERE team_id = $1 ORDER BY created_at`,
        [teamId],
      )
    ).rows as CallRow[];

  const deductions = async (teamId: string) =>
    (
      await w.pg.query(
        `SELECT credits_amount::int AS amount FROM credit_transactions
          WHERE team_id = $1 AND transaction_type = 'deduction' ORDER BY created_at`,
        [teamId],
      )
    ).rows as Array<{ amount: number }>;

  const cases: Array<[Provider, string, string]> = [
    ['azure-openai', 'gpt-4o-prod', '/openai/deployments/gpt-4o-prod/chat/completions'],
    ['gemini', 'gemini-2.5-pro', '/v1beta/models/gemini-2.5-pro:'],
    ['bedrock', 'amazon.nova-pro-v1:0', '/model/amazon.nova-pro-v1%3A0/converse'],
  ];

  describe.each(cases)('%s', (provider, providerModel, upstreamPath) => {
    it('answers a non-stream call and bills the upstream counts exactly', async () => {
      const { model, key, teamId } = await deployment(provider, providerModel);
      w.fake.setBehavior({ content: TEXT, usage: { prompt_tokens: 120, completion_tokens: 30 } });
      const res = await w.gw('POST', '/v1/chat/completions', key, { model, messages: hello });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        object: 'chat.completion',
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
      });
      expect(w.fake.requests).toHaveLength(1);
      expect(w.fake.requests[0].path.startsWith(upstreamPath)).toBe(true);

      expect(await w.settled(teamId)).toEqual({
        allocated: 1000,
        used: 150,
        held: 0,
        ledger_sum: 850,
        holds: 0,
      });
      const [row, ...others] = await callRows(teamId);
      expect(others).toEqual([]);
      expect(row).toMatchObject({
        provider,
        provider_model: providerModel,
        status: 'success',
        streamed: false,
        finish_reason: 'stop',
        prompt_tokens: 120,
        completion_tokens: 30,
        total_tokens: 150,
        credits_charged: 150,
      });
      expect(Number(row.provider_cost_usd)).toBeCloseTo(
        (120 * PRICE.input + 30 * PRICE.output) / 1e6,
        12,
      );
      expect(await deductions(teamId)).toEqual([{ amount: -150 }]);
    });

    it('streams a call and bills the final usage exactly', async () => {
      const { model, key, teamId } = await deployment(provider, providerModel);
      w.fake.setBehavior({
        content: TEXT,
        chunks: 5,
        usage: { prompt_tokens: 90, completion_tokens: 25 },
      });
      const res = await postSse(w.gateway.url, '/v1/chat/completions', key, {
        model,
        messages: hello,
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.status).toBe(200);
      const events = await readAll(res.events);
      expect(events.at(-1)?.data).toBe('[DONE]');
      expect(deltas(events)).toBe(TEXT);
      const usage = events.at(-2)?.json;
      expect(usage).toMatchObject({
        choices: [],
        model,
        usage: { prompt_tokens: 90, completion_tokens: 25, total_tokens: 115 },
      });

      expect(await w.settled(teamId)).toMatchObject({ used: 115, held: 0, holds: 0 });
      const [row] = await callRows(teamId);
      expect(row).toMatchObject({
        provider,
        status: 'success',
        streamed: true,
        finish_reason: 'stop',
        prompt_tokens: 90,
        completion_tokens: 25,
        credits_charged: 115,
      });
      expect(await deductions(teamId)).toEqual([{ amount: -115 }]);
    });

    it('counts cached and reasoning tokens inside prompt and completion tokens', async () => {
      const { model, key, teamId } = await deployment(provider, providerModel);
      w.fake.setBehavior({
        content: TEXT,
        usage: { prompt_tokens: 200, completion_tokens: 50 },
        details: { cached: 120, cacheWrite: 30, reasoning: 20 },
      });
      const res = await w.gw('POST', '/v1/chat/completions', key, { model, messages: hello });
      expect(res.status).toBe(200);
      expect(res.body.usage).toMatchObject({ prompt_tokens: 200, completion_tokens: 50 });
      await w.settled(teamId);
      const [row] = await callRows(teamId);
      expect(row).toMatchObject({ prompt_tokens: 200, completion_tokens: 50, total_tokens: 250 });
    });

    it('a throttled upstream is a 429-class failure that charges nothing', async () => {
      const { model, key, teamId } = await deployment(provider, providerModel);
      w.fake.setBehavior({ mode: 'status', status: 429, retryAfter: 3 });
      const res = await w.gw('POST', '/v1/chat/completions', key, { model, messages: hello });
      expect(res.status).toBe(429);
      expect(res.body.error).toMatchObject({
        type: 'rate_limit_error',
        code: 'upstream_rate_limited',
      });
      // the provider's own delay (Retry-After, or Google's RetryInfo) is passed on
      expect(res.headers.get('retry-after')).toBe('3');
      expect(JSON.stringify(res.body)).not.toContain(FAKE_AWS.secretAccessKey);
      expect(await w.settled(teamId)).toMatchObject({ used: 0, held: 0, holds: 0 });
      expect(await deductions(teamId)).toEqual([]);
    });
  });

  it('never returns the stored secrets, and shows the settings', async () => {
    const listed = await admin('GET', `/api/provider-credentials?organization_id=${w.org}`);
    expect(listed.status).toBe(200);
    const text = JSON.stringify(listed.body);
    for (const secret of [FAKE_AZURE_KEY, FAKE_GEMINI_KEY, FAKE_AWS.secretAccessKey]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(FAKE_AWS.accessKeyId);
    const bedrock = await admin('GET', `/api/provider-credentials/${credentials.bedrock}`);
    expect(bedrock.body).toMatchObject({
      provider: 'bedrock',
      has_api_key: true,
      masked_api_key: `…${FAKE_AWS.accessKeyId.slice(-4)}`,
      aws_region: FAKE_AWS.region,
      api_version: null,
    });
    const azure = await admin('GET', `/api/provider-credentials/${credentials['azure-openai']}`);
    expect(azure.body).toMatchObject({ api_version: '2024-10-21', aws_region: null });
  });
});
