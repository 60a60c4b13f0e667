import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { ListJobsQueryDto, UsageQueryDto } from './dto/list-jobs.query';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@TeamAuth()
@Controller('api/teams')
export class TeamJobsController {
  constructor(private readonly jobs: JobsService) {}

  /** The caller's team's jobs, newest first (filters: status, from, to). */
  @Get(':team_id/jobs')
  list(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('team_id') teamId: string,
    @Query() query: ListJobsQueryDto,
  ) {
    return this.jobs.list(principal, teamId, query);
  }

  /** Jobs, calls, tokens, cost and credits of the caller's team over a period. */
  @Get(':team_id/usage')
  usage(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('team_id') teamId: string,
    @Query() query: UsageQueryDto,
  ) {
    return this.jobs.usage(principal, teamId, query.from, query.to);
  }
}
