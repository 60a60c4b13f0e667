import type { VirtualKey } from '@app/db';

/** A key as listings show it: masked, never the key itself. */
export function toKeyResponse(key: VirtualKey) {
  return {
    key_id: key.keyId,
    team_id: key.teamId,
    key_alias: key.keyAlias,
    masked_key: key.maskedKey,
    status: key.status,
    models: key.models,
    expires_at: key.expiresAt?.toISOString() ?? null,
    max_budget: key.maxBudget,
    budget_duration: key.budgetDuration,
    rpm_limit: key.rpmLimit,
    tpm_limit: key.tpmLimit,
    metadata: key.metadata,
    spend: key.spend,
    total_spend: key.totalSpend,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    grace_expires_at: key.graceExpiresAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    created_at: key.createdAt.toISOString(),
  };
}

export type KeyResponse = ReturnType<typeof toKeyResponse>;
