import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { TeamsService } from './teams.service';

@ApiTags('teams')
@TeamAuth()
@Controller('api/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  /** Check a virtual key: its team, alias, models and remaining credits. */
  @Get('verify')
  verify(@CurrentTeam() principal: TeamPrincipal) {
    return this.teams.verify(principal);
  }

  /** The caller's own team (403 for another team). */
  @Get(':team_id')
  get(@CurrentTeam() principal: TeamPrincipal, @Param('team_id') teamId: string) {
    return this.teams.getOwn(principal, teamId);
  }
}
