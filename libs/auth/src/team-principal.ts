import type { TeamStatus } from '@app/db';

/** What a valid virtual key resolves to; cached as JSON, so dates are ISO strings. */
export interface TeamPrincipal {
  keyId: string;
  keyAlias: string | null;
  teamId: string;
  organizationId: string;
  teamStatus: TeamStatus;
  /** The key's allow-list; empty = every model of the team. */
  keyModels: string[];
  expiresAt: string | null;
  graceExpiresAt: string | null;
  keyRpmLimit: number | null;
  keyTpmLimit: number | null;
  teamRpmLimit: number | null;
  teamTpmLimit: number | null;
  maxBudget: number | null;
  /**
   * The key whose budget this key spends: itself, or, for a rotated key in its grace period, its
   * successor (which carried the spend over), so the two together never pass one max_budget.
   * Absent in entries cached before this field existed: read as keyId.
   */
  budgetKeyId?: string;
}
