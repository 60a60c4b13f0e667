import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { UuidParam } from '@app/http';
import { DateRangeQueryDto } from './dto/date-range.query';
import { ListJobsQueryDto } from './dto/list-jobs.query';
import { JobHistoryService } from './job-history.service';
import { UsageService } from './usage.service';

@ApiTags('analytics')
@AdminAuth()
@Controller('api')
export class AnalyticsController {
  constructor(
    private readonly jobs: JobHistoryService,
    private readonly usage: UsageService,
  ) {}

  /** A team's jobs with their call totals, newest first (filter by status and created_at). */
  @Get('jobs/teams/:team_id')
  @ApiBadRequestResponse({ description: 'Bad status, date, limit or cursor; from after to' })
  @ApiNotFoundResponse({ description: 'Team not found' })
  listJobs(@Param('team_id') teamId: string, @Query() query: ListJobsQueryDto) {
    return this.jobs.list(teamId, query);
  }

  /** One job with every call attempt, provider cost included. */
  @Get('jobs/teams/:team_id/:job_id')
  @ApiBadRequestResponse({ description: 'job_id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Team not found, or no such job in this team' })
  getJob(@Param('team_id') teamId: string, @Param('job_id', UuidParam('job_id')) jobId: string) {
    return this.jobs.get(teamId, jobId);
  }

  /** Daily (UTC), per-team and per-model usage of an organization. */
  @Get('jobs/organizations/:org_id/analytics')
  @ApiBadRequestResponse({ description: 'Malformed date, or from after to' })
  @ApiNotFoundResponse({ description: 'Organization not found' })
  analytics(@Param('org_id') orgId: string, @Query() query: DateRangeQueryDto) {
    return this.usage.organizationAnalytics(orgId, query.from, query.to);
  }

  /** Jobs, calls, tokens, costs and credits used of an organization, with a per-team breakdown. */
  @Get('organizations/:org_id/usage')
  @ApiBadRequestResponse({ description: 'Malformed date, or from after to' })
  @ApiNotFoundResponse({ description: 'Organization not found' })
  organizationUsage(@Param('org_id') orgId: string, @Query() query: DateRangeQueryDto) {
    return this.usage.organizationUsage(orgId, query.from, query.to);
  }
}
