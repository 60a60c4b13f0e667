import type { ProviderCredential } from '@app/db';
import { toProviderCredentialResponse } from './provider-credential.mapper';

const row = (over: Partial<ProviderCredential>): ProviderCredential => ({
  credentialId: 'c1',
  organizationId: null,
  provider: 'openai',
  credentialName: 'prod',
  apiKeyEncrypted: 'Y2lwaGVydGV4dA==',
  encryptionKeyId: 'k1',
  apiKeyLast4: 'x9Zq',
  apiBase: null,
  settings: {},
  isActive: true,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
  ...over,
});

describe('toProviderCredentialResponse', () => {
  it('shows whether there is a key and its tail, never the ciphertext', () => {
    const body = toProviderCredentialResponse(row({}));
    expect(body).toMatchObject({ has_api_key: true, masked_api_key: '…x9Zq' });
    expect(JSON.stringify(body)).not.toContain('Y2lwaGVydGV4dA');
    expect(Object.keys(body)).not.toContain('api_key');
  });

  it('keyless and short-key credentials', () => {
    expect(
      toProviderCredentialResponse(row({ apiKeyEncrypted: null, apiKeyLast4: null })),
    ).toMatchObject({
      has_api_key: false,
      masked_api_key: null,
    });
    expect(toProviderCredentialResponse(row({ apiKeyLast4: null })).masked_api_key).toBe('…');
  });
});
