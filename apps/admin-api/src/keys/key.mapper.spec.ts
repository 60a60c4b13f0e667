import type { VirtualKey } from '@app/db';
import { toKeyResponse } from './key.mapper';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function key(overrides: Partial<VirtualKey> = {}): VirtualKey {
  return {
    keyId: '00000000-0000-4000-8000-000000000001',
    teamId: 'team-a',
    keyHash: 'h'.repeat(64),
    maskedKey: 'sk-Ab3d…x9Zq',
    keyAlias: null,
    models: [],
    expiresAt: null,
    maxBudget: 10,
    budgetDuration: '1d',
    budgetWindowStart: new Date(T0),
    spend: 4,
    spendHeld: 1,
    totalSpend: 30,
    rpmLimit: null,
    tpmLimit: null,
    metadata: {},
    status: 'active',
    revokedAt: null,
    graceExpiresAt: null,
    rotatedTo: null,
    lastUsedAt: null,
    createdAt: new Date(T0),
    updatedAt: new Date(T0),
    ...overrides,
  };
}

describe('toKeyResponse budget window', () => {
  it('inside the window: spend, window bounds and what is left', () => {
    const res = toKeyResponse(key(), T0 + 3600_000);
    expect(res).toMatchObject({
      spend: 4,
      total_spend: 30,
      budget_window_start: '2026-01-01T00:00:00.000Z',
      budget_reset_at: '2026-01-02T00:00:00.000Z',
      budget_remaining: 5,
    });
  });

  it('after the window: spend counts as reset until the next use opens a new window', () => {
    const res = toKeyResponse(key(), T0 + 86400_000);
    expect(res).toMatchObject({
      spend: 0,
      budget_window_start: null,
      budget_reset_at: null,
      budget_remaining: 9,
    });
  });

  it('without budget_duration the spend is lifetime; without max_budget nothing remains to show', () => {
    const lifetime = toKeyResponse(key({ budgetDuration: null, budgetWindowStart: null }), T0);
    expect(lifetime).toMatchObject({ spend: 4, budget_reset_at: null, budget_remaining: 5 });
    const unbounded = toKeyResponse(key({ maxBudget: null, budgetDuration: null }), T0);
    expect(unbounded.budget_remaining).toBeNull();
  });

  it('flags an expired key and never exposes the hash', () => {
    const res = toKeyResponse(key({ expiresAt: new Date(T0) }), T0);
    expect(res.expired).toBe(true);
    expect(JSON.stringify(res)).not.toContain('hhhh');
  });
});
