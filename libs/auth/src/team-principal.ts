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
}
