import type { ProviderCredential } from '@app/db';

/** A credential as the API shows it: never the key, only whether there is one and its tail. */
export function toProviderCredentialResponse(c: ProviderCredential) {
  const hasKey = c.apiKeyEncrypted !== null;
  return {
    credential_id: c.credentialId,
    organization_id: c.organizationId,
    provider: c.provider,
    credential_name: c.credentialName,
    api_base: c.apiBase,
    /** azure-openai: the api-version sent (null: the gateway's default). */
    api_version: c.settings?.api_version ?? null,
    /** bedrock: the AWS region. */
    aws_region: c.settings?.region ?? null,
    has_api_key: hasKey,
    masked_api_key: hasKey ? `…${c.apiKeyLast4 ?? ''}` : null,
    encryption_key_id: c.encryptionKeyId,
    is_active: c.isActive,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export type ProviderCredentialResponse = ReturnType<typeof toProviderCredentialResponse>;
