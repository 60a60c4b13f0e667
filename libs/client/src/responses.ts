// Response shapes of the admin API (SPEC §2, §8). The OpenAPI documents describe request bodies
// but not responses yet; these mirror the admin-api mappers until they do.

export type BudgetMode = 'job_based' | 'consumption_usd' | 'consumption_tokens';

export interface Organization {
  organization_id: string;
  name: string;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface Team {
  team_id: string;
  organization_id: string;
  team_alias: string | null;
  status: 'active' | 'suspended' | 'paused' | 'deleted';
  model_groups: string[];
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
  cost_markup_percentage: number;
  rpm_limit: number | null;
  tpm_limit: number | null;
  metadata: Record<string, unknown>;
  credits_allocated: number;
  credits_used: number;
  credits_held: number;
  credits_remaining: number;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

/** POST /api/teams/create: the team with its first key, shown once. */
export interface CreatedTeam extends Team {
  key_id: string;
  virtual_key: string;
}

export interface VirtualKey {
  key_id: string;
  team_id: string;
  key_alias: string | null;
  masked_key: string;
  status: 'active' | 'revoked';
  expired: boolean;
  models: string[];
  expires_at: string | null;
  max_budget: number | null;
  budget_duration: string | null;
  spend: number;
  spend_held: number;
  budget_remaining: number | null;
  total_spend: number;
  rpm_limit: number | null;
  tpm_limit: number | null;
  metadata: Record<string, unknown>;
  last_used_at: string | null;
  rotated_to: string | null;
  grace_expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A key in the create/rotate response: the only time `virtual_key` is shown. */
export interface IssuedKey extends VirtualKey {
  virtual_key: string;
}

export interface ProviderCredential {
  credential_id: string;
  organization_id: string | null;
  provider: string;
  credential_name: string;
  api_base: string | null;
  has_api_key: boolean;
  /** `…` and the key's last 4 characters. */
  masked_api_key: string | null;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

export interface ModelDeployment {
  model_id: string;
  model_name: string;
  provider: string;
  provider_model: string;
  credential_id: string | null;
  api_base: string | null;
  input_price_per_million: number;
  output_price_per_million: number;
  weight: number;
  status: 'active' | 'inactive';
  created_at: string;
  updated_at: string;
  [price: string]: unknown;
}

export interface ModelGroup {
  group_name: string;
  description: string | null;
  models: string[];
  created_at: string;
  updated_at: string;
}

export interface Balance {
  team_id: string;
  credits_allocated: number;
  credits_used: number;
  credits_held: number;
  credits_remaining: number;
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
}
