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

/** A row of a team's credit ledger (GET /api/credits/teams/{team_id}/transactions). */
export interface LedgerEntry {
  transaction_id: string;
  team_id: string;
  job_id: string | null;
  transaction_type: string;
  credits_amount: number;
  credits_before: number;
  credits_after: number;
  reason: string | null;
  created_at: string;
}

/** POST /api/credits/teams/{team_id}/configure-auto-refill. */
export interface AutoRefillSettings {
  team_id: string;
  enabled: boolean;
  refill_amount: number | null;
  refill_period: 'daily' | 'weekly' | 'monthly' | null;
  next_refill_at: string | null;
}

/** A job with its call totals (GET /api/jobs/teams/{team_id}). */
export interface JobSummary {
  job_id: string;
  team_id: string;
  key_id: string | null;
  job_type: string;
  user_id: string | null;
  status: 'pending' | 'in_progress' | 'completed' | 'failed';
  metadata: Record<string, unknown>;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  costs: {
    total_calls: number;
    successful_calls: number;
    failed_calls: number;
    total_tokens: number;
    total_cost_usd: number;
    provider_cost_usd: number;
    credits_charged: number;
    credit_applied: boolean;
  };
}

/** One call attempt of a job. */
export interface CallDetail {
  call_id: string;
  key_id: string | null;
  model: string;
  model_requested: string;
  provider: string | null;
  provider_model: string | null;
  attempt: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  provider_cost_usd: number;
  credits_charged: number;
  latency_ms: number | null;
  status: string;
  error_class: string | null;
  error_message: string | null;
  purpose: string | null;
  streamed: boolean;
  finish_reason: string | null;
  created_at: string;
}

/** GET /api/jobs/teams/{team_id}/{job_id}: the job with every call attempt. */
export interface JobDetail extends JobSummary {
  calls: CallDetail[];
}

export interface UsageTotals {
  jobs: number;
  jobs_completed: number;
  jobs_failed: number;
  calls: number;
  failed_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost_usd: number;
  provider_cost_usd: number;
  credits_used: number;
}

/** GET /api/jobs/organizations/{org_id}/analytics: daily (UTC), per team and per model. */
export interface OrganizationAnalytics {
  organization_id: string;
  from: string | null;
  to: string | null;
  daily: Array<Omit<UsageTotals, 'credits_used'> & { date: string; credits: number }>;
  by_team: Array<UsageTotals & { team_id: string; team_alias: string | null }>;
  by_model: Array<{
    model: string;
    jobs: number;
    calls: number;
    failed_calls: number;
    prompt_tokens: number;
    completion_tokens: number;
    tokens: number;
    cost_usd: number;
    provider_cost_usd: number;
    credits: number;
    avg_latency_ms: number;
  }>;
}

/** A row of the audit log (GET /api/audit-log). */
export interface AuditEntry {
  audit_id: string;
  created_at: string;
  method: string;
  route: string;
  path: string | null;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  status_code: number;
  summary: Record<string, unknown>;
}
