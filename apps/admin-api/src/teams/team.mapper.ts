import type { Team } from '@app/db';

export function toTeamResponse(team: Team, modelGroups: string[]) {
  return {
    team_id: team.teamId,
    organization_id: team.organizationId,
    team_alias: team.teamAlias,
    status: team.status,
    model_groups: modelGroups,
    budget_mode: team.budgetMode,
    credits_per_dollar: team.creditsPerDollar,
    tokens_per_credit: team.tokensPerCredit,
    cost_markup_percentage: team.costMarkupPercentage,
    rpm_limit: team.rpmLimit,
    tpm_limit: team.tpmLimit,
    metadata: team.metadata,
    credits_allocated: team.creditsAllocated,
    credits_used: team.creditsUsed,
    credits_held: team.creditsHeld,
    credits_remaining: team.creditsAllocated - team.creditsUsed - team.creditsHeld,
    balance_low_threshold: team.balanceLowThreshold,
    deleted_at: team.deletedAt?.toISOString() ?? null,
    created_at: team.createdAt.toISOString(),
    updated_at: team.updatedAt.toISOString(),
  };
}

export type TeamResponse = ReturnType<typeof toTeamResponse>;
