import { parseDurationSeconds } from '@app/config';
import type { VirtualKey } from '@app/db';

/** The key's budget window as of `now`: a passed window counts as reset (it restarts on next use). */
function budgetWindow(key: VirtualKey, now: number) {
  const seconds = key.budgetDuration ? parseDurationSeconds(key.budgetDuration) : null;
  const start = key.budgetWindowStart?.getTime() ?? null;
  if (seconds === null || start === null) {
    return { start: null, resetAt: null, spend: key.spend };
  }
  const resetAt = start + seconds * 1000;
  if (resetAt <= now) return { start: null, resetAt: null, spend: 0 };
  return {
    start: new Date(start).toISOString(),
    resetAt: new Date(resetAt).toISOString(),
    spend: key.spend,
  };
}

/** A key as every admin response shows it: masked, never the key itself. */
export function toKeyResponse(key: VirtualKey, now = Date.now()) {
  const window = budgetWindow(key, now);
  return {
    key_id: key.keyId,
    team_id: key.teamId,
    key_alias: key.keyAlias,
    masked_key: key.maskedKey,
    status: key.status,
    expired: key.expiresAt !== null && key.expiresAt.getTime() <= now,
    models: key.models,
    expires_at: key.expiresAt?.toISOString() ?? null,
    max_budget: key.maxBudget,
    budget_duration: key.budgetDuration,
    budget_window_start: window.start,
    budget_reset_at: window.resetAt,
    /** Credits spent in the current budget window (all-time without budget_duration). */
    spend: window.spend,
    /** Credits reserved by in-flight calls against max_budget. */
    spend_held: key.spendHeld,
    budget_remaining:
      key.maxBudget === null ? null : Math.max(0, key.maxBudget - window.spend - key.spendHeld),
    total_spend: key.totalSpend,
    rpm_limit: key.rpmLimit,
    tpm_limit: key.tpmLimit,
    metadata: key.metadata,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    rotated_to: key.rotatedTo,
    grace_expires_at: key.graceExpiresAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    created_at: key.createdAt.toISOString(),
    updated_at: key.updatedAt.toISOString(),
  };
}

export type KeyResponse = ReturnType<typeof toKeyResponse>;
