import { DataSource } from 'typeorm';
import { CredentialCipher } from '../../../libs/auth/src';
import { ENCRYPTION_KEY, RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call, eventually, JsonResponse } from '../../../test/helpers/http';

const cipher = new CredentialCipher({
  encryption: { current: { id: 'k1', key: Buffer.from(ENCRYPTION_KEY, 'base64') }, previous: [] },
});

const AWS = {
  aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE',
  aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLEKEY',
  aws_region: 'eu-central-1',
};
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN/+0123456789==';
const AZURE_KEY = 'azure-key-0123456789abcdef0123456789';
const GEMINI_KEY = 'AIzaSyExampleGeminiKey0123456789abcdefgh';

/** azure-openai, gemini and bedrock credentials through the admin API (SPEC §9). */
describe('admin-api: azure-openai, gemini and bedrock credentials', () => {
  let admin: RunningApp;
  let db: DataSource;
  const org = uid('org');
  const bodies: string[] = [];

  async function api<T = any>(method: string, path: string, body?: unknown) {
    const res: JsonResponse<T> = await call<T>(admin.url, method, path, { admin: true, body });
    bodies.push(JSON.stringify(res.body));
    return res;
  }
  const create = (body: Record<string, unknown>) =>
    api('POST', '/api/provider-credentials/create', {
      organization_id: org,
      credential_name: uid('cred'),
      ...body,
    });
  const stored = async (id: string) =>
    (
      await db.query(
        `SELECT api_key_encrypted, encryption_key_id, api_key_last4, settings
           FROM provider_credentials WHERE credential_id = $1`,
        [id],
      )
    )[0] as {
      api_key_encrypted: string;
      encryption_key_id: string;
      api_key_last4: string | null;
      settings: Record<string, string>;
    };
  const opened = async (id: string) => {
    const row = await stored(id);
    return cipher.decrypt({ ciphertext: row.api_key_encrypted, keyId: row.encryption_key_id });
  };

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    const res = await api('POST', '/api/organizations/create', { organization_id: org, name: org });
    expect(res.status).toBe(201);
  });
  afterAll(() => admin.close());

  it('400 naming the missing or misplaced field', async () => {
    const azure = {
      provider: 'azure-openai',
      api_key: AZURE_KEY,
      api_base: 'https://r.openai.azure.com',
    };
    const bedrock = { provider: 'bedrock', ...AWS };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...azure, api_key: undefined }, /^api_key: required for provider 'azure-openai'/],
      [{ ...azure, api_base: undefined }, /^api_base: required for provider 'azure-openai'/],
      [
        { ...azure, api_version: 'bad version!' },
        /^api_version: must be an Azure OpenAI api-version/,
      ],
      [{ provider: 'gemini' }, /^api_key: required for provider 'gemini'/],
      [
        { provider: 'gemini', api_key: GEMINI_KEY, api_version: '2024-10-21' },
        /^api_version: only for provider 'azure-openai', not 'gemini'/,
      ],
      [{ ...bedrock, aws_region: undefined }, /^aws_region: required for provider 'bedrock'/],
      [{ ...bedrock, aws_access_key_id: undefined }, /^aws_access_key_id: required/],
      [{ ...bedrock, aws_secret_access_key: undefined }, /^aws_secret_access_key: required/],
      [{ ...bedrock, aws_region: 'Mars' }, /^aws_region: must be an AWS region/],
      [
        { ...bedrock, aws_access_key_id: 'lower-case' },
        /^aws_access_key_id: must be an AWS access key id/,
      ],
      [{ ...bedrock, api_key: 'sk-x' }, /^api_key: not used by provider 'bedrock'/],
      [{ ...azure, aws_region: 'us-east-1' }, /^aws_region: only for provider 'bedrock'/],
    ];
    for (const [body, detail] of cases) {
      const res = await create(body);
      expect({ status: res.status, code: res.body.code, body }).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
      });
      expect(res.body.detail).toMatch(detail);
    }
  });

  it('azure-openai: key sealed, api_version kept as a setting, null goes back to the default', async () => {
    const res = await create({
      provider: 'azure-openai',
      api_key: AZURE_KEY,
      api_base: 'https://my-resource.openai.azure.com',
      api_version: '2025-04-01-preview',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      provider: 'azure-openai',
      has_api_key: true,
      masked_api_key: `…${AZURE_KEY.slice(-4)}`,
      api_version: '2025-04-01-preview',
      aws_region: null,
    });
    const id = res.body.credential_id as string;
    expect(await opened(id)).toBe(AZURE_KEY);
    expect((await stored(id)).settings).toEqual({ api_version: '2025-04-01-preview' });
    const cleared = await api('PUT', `/api/provider-credentials/${id}`, { api_version: null });
    expect(cleared.body.api_version).toBeNull();
    expect((await stored(id)).settings).toEqual({});
    const base = await api('PUT', `/api/provider-credentials/${id}`, { api_base: null });
    expect(base.status).toBe(400);
    expect(base.body.detail).toMatch(/^api_base: required for provider 'azure-openai'/);
  });

  it('gemini: the api_base is optional (Google by default)', async () => {
    const res = await create({ provider: 'gemini', api_key: GEMINI_KEY });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ has_api_key: true, api_base: null });
    expect(await opened(res.body.credential_id as string)).toBe(GEMINI_KEY);
  });

  it('bedrock: the key pair sealed as one secret, region a setting, rotation replaces the pair', async () => {
    const res = await create({ provider: 'bedrock', ...AWS, aws_session_token: SESSION_TOKEN });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      provider: 'bedrock',
      has_api_key: true,
      masked_api_key: '…MPLE',
      aws_region: 'eu-central-1',
      api_base: null,
    });
    const id = res.body.credential_id as string;
    expect(JSON.parse(await opened(id))).toEqual({
      access_key_id: AWS.aws_access_key_id,
      secret_access_key: AWS.aws_secret_access_key,
      session_token: SESSION_TOKEN,
    });
    expect((await stored(id)).settings).toEqual({ region: 'eu-central-1' });

    const half = await api('PUT', `/api/provider-credentials/${id}`, {
      aws_secret_access_key: 'only-the-secret',
    });
    expect(half.status).toBe(400);
    expect(half.body.detail).toMatch(/^aws_access_key_id: required with any new AWS key/);
    const apiKey = await api('PUT', `/api/provider-credentials/${id}`, { api_key: 'sk-nope' });
    expect(apiKey.body.detail).toMatch(/^api_key: not used by provider 'bedrock'/);

    const rotated = await api('PUT', `/api/provider-credentials/${id}`, {
      aws_access_key_id: 'AKIAROTATEDKEY000042',
      aws_secret_access_key: 'rotated-secret-0123456789',
      aws_region: 'us-west-2',
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ masked_api_key: '…0042', aws_region: 'us-west-2' });
    // the pair was replaced as a whole: the old session token is gone
    expect(JSON.parse(await opened(id))).toEqual({
      access_key_id: 'AKIAROTATEDKEY000042',
      secret_access_key: 'rotated-secret-0123456789',
    });
  });

  it('deployments of these providers need a credential of the same provider', async () => {
    const gemini = await create({ provider: 'gemini', api_key: GEMINI_KEY });
    const deploy = (body: Record<string, unknown>) =>
      api('POST', '/api/models/create', {
        model_name: uid('m'),
        provider_model: 'upstream',
        input_price_per_million: 1,
        output_price_per_million: 2,
        ...body,
      });
    const noCredential = await deploy({ provider: 'gemini', api_base: 'https://example.com' });
    expect(noCredential.status).toBe(400);
    expect(noCredential.body.detail).toMatch(/^credential_id: required for provider 'gemini'/);
    const mismatch = await deploy({
      provider: 'bedrock',
      credential_id: gemini.body.credential_id,
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.detail).toMatch(/'gemini' credential cannot serve a 'bedrock' deployment/);
    const ok = await deploy({ provider: 'gemini', credential_id: gemini.body.credential_id });
    expect(ok.status).toBe(201);
  });

  it('audits the AWS secrets redacted, and no response or audit row holds a secret', async () => {
    const res = await create({ provider: 'bedrock', ...AWS, aws_session_token: SESSION_TOKEN });
    const id = res.body.credential_id as string;
    let rows: any[] = [];
    await eventually(async () => {
      const audit = await api(
        'GET',
        `/api/audit-log?target_type=provider_credential&target_id=${id}`,
      );
      rows = audit.body.data;
      return rows.length >= 1;
    });
    expect(rows[0].summary.body).toMatchObject({
      aws_access_key_id: AWS.aws_access_key_id,
      aws_secret_access_key: '[redacted]',
      aws_session_token: '[redacted]',
      aws_region: 'eu-central-1',
    });
    const secrets = [
      AWS.aws_secret_access_key,
      SESSION_TOKEN,
      AZURE_KEY,
      GEMINI_KEY,
      'rotated-secret-0123456789',
    ];
    const hits = await db.query(
      'SELECT count(*)::int AS n FROM audit_log WHERE summary::text LIKE ANY($1)',
      [secrets.map((s) => `%${s}%`)],
    );
    expect(hits[0].n).toBe(0);
    for (const body of bodies) for (const s of secrets) expect(body).not.toContain(s);
  });
});
