import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { PageQueryDto } from '@app/http';
import { TeamsService } from '../teams/teams.service';
import { CreateOrganizationDto } from './dto/create-organization.dto';
import { OrganizationsService } from './organizations.service';

@ApiTags('organizations')
@AdminAuth()
@Controller('api/organizations')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly teams: TeamsService,
  ) {}

  /** Create an organization (id chosen by the caller). */
  @Post('create')
  @ApiConflictResponse({ description: 'organization_id already exists' })
  create(@Body() dto: CreateOrganizationDto) {
    return this.organizations.create(dto);
  }

  /** List organizations, newest first. */
  @Get()
  list(@Query() query: PageQueryDto) {
    return this.organizations.list(query.limit, query.cursor);
  }

  @Get(':org_id')
  @ApiNotFoundResponse()
  get(@Param('org_id') orgId: string) {
    return this.organizations.get(orgId);
  }

  /** Teams of an organization (keys masked). */
  @Get(':org_id/teams')
  @ApiNotFoundResponse()
  teamsOf(@Param('org_id') orgId: string, @Query() query: PageQueryDto) {
    return this.teams.list(orgId, query.limit, query.cursor);
  }
}
