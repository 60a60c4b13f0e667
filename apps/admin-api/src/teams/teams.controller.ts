import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { CatalogChangedInterceptor } from '../catalog-changed.interceptor';
import { CreateTeamDto } from './dto/create-team.dto';
import { ListTeamsQueryDto } from './dto/list-teams.query';
import { SetModelGroupsDto } from './dto/set-model-groups.dto';
import { UpdateTeamDto } from './dto/update-team.dto';
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

  /** Teams, newest first; deleted teams only with include_deleted=true. */
  @Get()
  @ApiBadRequestResponse({ description: 'Invalid limit or cursor' })
  @ApiNotFoundResponse({ description: 'Organization not found' })
  list(@Query() query: ListTeamsQueryDto) {
    return this.teams.list(
      query.organization_id,
      query.limit,
      query.cursor,
      query.include_deleted ?? false,
    );
  }

  /** A team with its keys (masked; the key itself is never shown again); deleted teams included. */
  @Get(':team_id')
  @ApiNotFoundResponse({ description: 'Team not found' })
  get(@Param('team_id') teamId: string) {
    return this.teams.get(teamId);
  }

  /** Change alias, rate limits, budget settings, markup or metadata; credits are refused (400). */
  @Patch(':team_id')
  @ApiBadRequestResponse({
    description: 'Invalid body, or a credit field (use the credits endpoints)',
  })
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({ description: 'Team deleted' })
  update(@Param('team_id') teamId: string, @Body() dto: UpdateTeamDto) {
    return this.teams.update(teamId, dto);
  }

  /** Replace the team's model groups in one transaction. */
  @Put(':team_id/model-groups')
  @UseInterceptors(CatalogChangedInterceptor)
  @ApiBadRequestResponse({ description: 'Invalid body or unknown model group (named)' })
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({ description: 'Team deleted' })
  setModelGroups(@Param('team_id') teamId: string, @Body() dto: SetModelGroupsDto) {
    return this.teams.setModelGroups(teamId, dto.model_groups);
  }

  /** Refuse every key of the team (403) until resumed. */
  @Put(':team_id/suspend')
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({ description: 'Team deleted' })
  suspend(@Param('team_id') teamId: string) {
    return this.teams.setStatus(teamId, 'suspended');
  }

  /** Refuse every key of the team (403) until resumed. */
  @Put(':team_id/pause')
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({ description: 'Team deleted' })
  pause(@Param('team_id') teamId: string) {
    return this.teams.setStatus(teamId, 'paused');
  }

  /** Restore a suspended or paused team. */
  @Put(':team_id/resume')
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({ description: 'Team deleted' })
  resume(@Param('team_id') teamId: string) {
    return this.teams.setStatus(teamId, 'active');
  }

  /** Delete a team: revokes every key (401 at the gateway within 1 s); jobs and ledger are kept. */
  @Delete(':team_id')
  @HttpCode(200)
  @ApiNotFoundResponse({ description: 'Team not found' })
  remove(@Param('team_id') teamId: string) {
    return this.teams.remove(teamId);
  }
}
