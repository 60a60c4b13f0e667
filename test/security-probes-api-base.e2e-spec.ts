import { Client } from 'pg';
import { RunningApp, startAdmin, uid } from './helpers/apps';
import { call } from './helpers/http';

/**
 * Security probes of the reliability issue (OWASP API Top 10), part 4: server-side request
 * forgery (API7). A deployment's or credential's api_base is where the gateway sends requests
 * with the provider key; link-local addresses and cloud metadata services are refused unless the
 * operator allows them (ALLOW_LINK_LOCAL_API_BASE=true).
 */
describe('security probes: api_base', () => {
  let admin: RunningApp;
  let pg: Client;
  const org = uid('org');

  beforeAll(async () => {
    pg = new Client({ connectionString: process.env.DATABASE_URL });
    await pg.connect();
    admin = await startAdmin();
    await call(admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: org, name: org },
    });
  });
  afterAll(async () => {
    await admin.close();
    await pg.end();
  });

  describe('api_base pointing at link-local or cloud metadata addresses → 400 naming api_base', () => {
    const REFUSED = [
      'http://169.254.169.254/latest/meta-data',
      'http://169.254.169.254:80/v1',
      'http://[fd00:ec2::254]/v1',
      'http://[FD00:EC2:0:0:0:0:0:254]/v1',
      'http://metadata.google.internal/computeMetadata/v1',
      'http://METADATA.GOOGLE.INTERNAL./v1',
      'http://metadata/computeMetadata/v1',
      'http://169.254.170.2/v2/credentials',
      'https://169.254.0.1/v1',
      'http://169.254.255.255/v1',
      'http://[fe80::1]/v1',
      'http://[febf:ffff::1]:8080/v1',
      'http://[::ffff:169.254.169.254]/v1',
      'http://2852039166/v1', // 169.254.169.254 as one decimal number
      'http://0xa9.0xfe.0xa9.0xfe/v1',
    ];
    /** Local models (Ollama, vLLM) live on loopback and private networks. */
    const ALLOWED = [
      'http://localhost:11434/v1',
      'http://127.0.0.1:11434/v1',
      'http://[::1]:11434/v1',
      'http://10.0.0.5:8000/v1',
      'http://192.168.1.20/v1',
      'http://[fd12:3456::1]/v1',
      'http://ollama:11434/v1',
      'http://169.254.example.com/v1',
      'https://api.openai.com/v1',
    ];
    const LOCAL = 'http://127.0.0.1:9/v1';
    let credentialId: string;
    let modelId: string;

    const createCredential = (url: string, apiBase: string) =>
      call(url, 'POST', '/api/provider-credentials/create', {
        admin: true,
        body: {
          organization_id: org,
          provider: 'openai-compatible',
          credential_name: uid('cred'),
          api_base: apiBase,
        },
      });
    const createModel = (url: string, apiBase: string) =>
      call(url, 'POST', '/api/models/create', {
        admin: true,
        body: {
          model_name: uid('model'),
          provider: 'openai-compatible',
          provider_model: 'm',
          api_base: apiBase,
          input_price_per_million: 1,
          output_price_per_million: 1,
        },
      });

    beforeAll(async () => {
      credentialId = (await createCredential(admin.url, LOCAL)).body.credential_id;
      modelId = (await createModel(admin.url, LOCAL)).body.model_id;
    });

    const expect400 = (what: string, res: { status: number; body: unknown }) =>
      expect({ what, status: res.status, body: res.body }).toEqual({
        what,
        status: 400,
        body: { code: 'VALIDATION_ERROR', detail: expect.stringMatching(/^api_base: /) },
      });

    /** How many credentials and deployments exist, and what the two probed ones point at. */
    const stored = async () =>
      (
        await pg.query(
          `SELECT (SELECT count(*)::int FROM provider_credentials) AS credentials,
                  (SELECT count(*)::int FROM model_deployments) AS models,
                  (SELECT api_base FROM provider_credentials WHERE credential_id = $1) AS credential_base,
                  (SELECT api_base FROM model_deployments WHERE model_id = $2) AS model_base`,
          [credentialId, modelId],
        )
      ).rows[0] as Record<string, unknown>;

    it.each(REFUSED)('%s: refused on create and update of credentials and models', async (bad) => {
      const before = await stored();
      const put = (path: string) =>
        call(admin.url, 'PUT', path, { admin: true, body: { api_base: bad } });
      expect400('credential create', await createCredential(admin.url, bad));
      expect400('model create', await createModel(admin.url, bad));
      expect400('credential update', await put(`/api/provider-credentials/${credentialId}`));
      expect400('model update', await put(`/api/models/${modelId}`));
      expect(await stored()).toEqual(before);
      expect(before).toMatchObject({ credential_base: LOCAL, model_base: LOCAL });
    });

    it.each(ALLOWED)('%s: allowed', async (ok) => {
      expect((await createCredential(admin.url, ok)).status).toBe(201);
      expect((await createModel(admin.url, ok)).status).toBe(201);
    });

    describe('with ALLOW_LINK_LOCAL_API_BASE=true', () => {
      let permissive: RunningApp;
      beforeAll(async () => {
        permissive = await startAdmin({ ALLOW_LINK_LOCAL_API_BASE: 'true' });
      });
      afterAll(() => permissive.close());

      it.each(['http://169.254.169.254/v1', 'http://[fe80::1]/v1', 'http://metadata/v1'])(
        '%s is accepted',
        async (base) => {
          expect((await createCredential(permissive.url, base)).status).toBe(201);
          expect((await createModel(permissive.url, base)).status).toBe(201);
        },
      );
    });
  });
});
