import { Body, Controller, Get, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { CreateTeamDto } from './dto/create-team.dto';
import { ListTeamsQueryDto } from './dto/list-teams.query';
import { TeamsService } from './teams.service';

@ApiTags('teams')
@AdminAuth()
@Controller('api/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  /** Create a team with its first virtual key (returned once, in this response only). */
  @Post('create')
  @ApiConflictResponse({ description: 'team_id already exists' })
  @ApiBadRequestResponse({ description: 'Invalid body or unknown model group' })
  @ApiNotFoundResponse({ description: 'Organization not found' })
  create(@Body() dto: CreateTeamDto) {
    return this.teams.create(dto);
  }

  @Get()
  list(@Query() query: ListTeamsQueryDto) {
    return this.teams.list(query.organization_id, query.limit, query.cursor);
  }

  /** A team with its keys (masked; the key itself is never shown again). */
  @Get(':team_id')
  @ApiNotFoundResponse()
  get(@Param('team_id') teamId: string) {
    return this.teams.get(teamId);
  }

  /** Refuse every key of the team (403) until resumed. */
  @Put(':team_id/suspend')
  @ApiNotFoundResponse()
  suspend(@Param('team_id') teamId: string) {
    return this.teams.setStatus(teamId, 'suspended');
  }

  @Put(':team_id/pause')
  @ApiNotFoundResponse()
  pause(@Param('team_id') teamId: string) {
    return this.teams.setStatus(teamId, 'paused');
  }

  @Put(':team_id/resume')
  @ApiNotFoundResponse()
  resume(@Param('team_id') teamId: string) {
    return this.teams.setStatus(teamId, 'active');
  }
}
