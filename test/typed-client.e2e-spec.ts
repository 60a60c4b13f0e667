import {
  type Balance,
  createAdminClient,
  createGatewayClient,
  type CreatedTeam,
  type IssuedKey,
  unwrap,
  ApiError,
} from '@app/client';
import { MASTER_KEY, type RunningApp, startAdmin, startGateway, uid } from './helpers/apps';

// The generated client (libs/client) against both real services: an operator's flow on the
// admin API, then a team's call on the gateway with the key it was given.
describe('typed client (@app/client)', () => {
  let admin: RunningApp;
  let gateway: RunningApp;

  beforeAll(async () => {
    admin = await startAdmin();
    gateway = await startGateway();
  });
  afterAll(async () => {
    await gateway?.close();
    await admin?.close();
  });

  it('org -> deployment -> group -> team -> key -> credits, then a gateway call with the key', async () => {
    const api = createAdminClient({ baseUrl: admin.url, adminKey: MASTER_KEY });
    const org = uid('org');
    const model = uid('model');
    const group = uid('group');
    const team = uid('team');

    await unwrap(
      api.POST('/api/organizations/create', { body: { organization_id: org, name: 'Typed' } }),
    );
    await unwrap(
      api.POST('/api/models/create', {
        body: {
          model_name: model,
          provider: 'mock',
          provider_model: 'mock-1',
          input_price_per_million: 1,
          output_price_per_million: 2,
        },
      }),
    );
    await unwrap(
      api.POST('/api/model-groups/create', { body: { group_name: group, models: [model] } }),
    );
    const created = await unwrap<CreatedTeam>(
      api.POST('/api/teams/create', {
        body: { organization_id: org, team_id: team, model_groups: [group], credits_allocated: 0 },
      }),
    );
    expect(created.virtual_key).toMatch(/^sk-/);
    const key = await unwrap<IssuedKey>(
      api.POST('/api/teams/{team_id}/keys', {
        params: { path: { team_id: team } },
        body: { key_alias: 'typed', models: [group] },
      }),
    );
    const added = await unwrap<{ balance: Balance }>(
      api.POST('/api/credits/teams/{team_id}/add', {
        params: { path: { team_id: team } },
        body: { credits: 5, reason: 'typed client' },
      }),
    );
    expect(added.balance.credits_remaining).toBe(5);

    // The API's detail reaches the caller as an ApiError.
    const missing = await unwrap(
      api.GET('/api/teams/{team_id}', { params: { path: { team_id: uid('nope') } } }),
    ).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect((missing as ApiError).status).toBe(404);
    expect((missing as ApiError).detail).toMatch(/not found/i);

    const client = createGatewayClient({ baseUrl: gateway.url, apiKey: key.virtual_key });
    const verify = await unwrap<{ team_id: string; key_alias: string }>(
      client.GET('/api/teams/verify'),
    );
    expect(verify).toMatchObject({ team_id: team, key_alias: 'typed' });
    const answer = await unwrap<{ choices: Array<{ message: { content: string } }> }>(
      client.POST('/v1/chat/completions', {
        // The document types `content` (a string or parts) as an object: hence the cast.
        body: { model: group, messages: [{ role: 'user', content: 'hello' as never }] },
      }),
    );
    expect(answer.choices[0].message.content.length).toBeGreaterThan(0);
    const balance = await unwrap<Balance>(client.GET('/api/credits/balance'));
    expect(balance.credits_used).toBe(1); // job_based: the one-call job cost one credit
  });
});
