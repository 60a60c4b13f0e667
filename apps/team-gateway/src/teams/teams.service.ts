import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import { Team } from '@app/db';
import { TollgateError } from '@app/http';

@Injectable()
export class TeamsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** What the presented key is: its team, alias, allowed models and remaining credits. */
  async verify(principal: TeamPrincipal) {
    const team = await this.db.getRepository(Team).findOneByOrFail({ teamId: principal.teamId });
    const models =
      principal.keyModels.length > 0 ? principal.keyModels : await this.teamModels(team.teamId);
    return {
      team_id: team.teamId,
      organization_id: team.organizationId,
      status: team.status,
      key_id: principal.keyId,
      key_alias: principal.keyAlias,
      models,
      credits_remaining: team.creditsAllocated - team.creditsUsed - team.creditsHeld,
    };
  }

  /** The caller's own team; another team's id is a 403. */
  async getOwn(principal: TeamPrincipal, teamId: string) {
    if (teamId !== principal.teamId) {
      throw new TollgateError('FORBIDDEN', 'Cannot access teams for a different team');
    }
    const team = await this.db.getRepository(Team).findOneByOrFail({ teamId });
    return {
      team_id: team.teamId,
      organization_id: team.organizationId,
      team_alias: team.teamAlias,
      status: team.status,
      model_groups: await this.teamGroups(teamId),
      budget_mode: team.budgetMode,
      credits_allocated: team.creditsAllocated,
      credits_used: team.creditsUsed,
      credits_held: team.creditsHeld,
      credits_remaining: team.creditsAllocated - team.creditsUsed - team.creditsHeld,
    };
  }

  private async teamGroups(teamId: string): Promise<string[]> {
    const rows: Array<{ group_name: string }> = await this.db.query(
      'SELECT group_name FROM team_model_groups WHERE team_id = $1 ORDER BY created_at, group_name',
      [teamId],
    );
    return rows.map((r) => r.group_name);
  }

  /** Every model name and group name the team may send as `model`. */
  private async teamModels(teamId: string): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.db.query(
      `SELECT DISTINCT name FROM (
         SELECT g.group_name AS name FROM team_model_groups tg JOIN model_groups g ON g.group_name = tg.group_name WHERE tg.team_id = $1
         UNION ALL
         SELECT unnest(g.models) FROM team_model_groups tg JOIN model_groups g ON g.group_name = tg.group_name WHERE tg.team_id = $1
       ) names ORDER BY name`,
      [teamId],
    );
    return rows.map((r) => r.name);
  }
}
