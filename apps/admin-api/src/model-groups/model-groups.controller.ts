import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
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
import { PageQueryDto } from '@app/http';
import { CatalogChangedInterceptor } from '../catalog-changed.interceptor';
import { CreateModelGroupDto } from './dto/create-model-group.dto';
import { DeleteModelGroupQueryDto } from './dto/delete-model-group.query';
import { SetGroupModelsDto } from './dto/set-group-models.dto';
import { ModelGroupsService } from './model-groups.service';

/** Ordered lists of model names granted to teams. The gateway sees changes within 5 s. */
@ApiTags('model-groups')
@AdminAuth()
@UseInterceptors(CatalogChangedInterceptor)
@Controller('api/model-groups')
export class ModelGroupsController {
  constructor(private readonly groups: ModelGroupsService) {}

  /** Create a group of models in priority order. */
  @Post('create')
  @ApiBadRequestResponse({ description: 'Invalid body, or models without any deployment' })
  @ApiConflictResponse({ description: 'group_name exists (as a group or a model name)' })
  create(@Body() dto: CreateModelGroupDto) {
    return this.groups.create(dto);
  }

  /** List groups by name. */
  @Get()
  @ApiBadRequestResponse({ description: 'Bad limit or cursor' })
  list(@Query() query: PageQueryDto) {
    return this.groups.list(query.limit, query.cursor);
  }

  /** One group with its models in priority order. */
  @Get(':group_name')
  @ApiNotFoundResponse()
  get(@Param('group_name') groupName: string) {
    return this.groups.get(groupName);
  }

  /** Replace the group's models (priority order); gateways use the new order within 5 s. */
  @Put(':group_name/models')
  @ApiBadRequestResponse({ description: 'Invalid body, or models without any deployment' })
  @ApiNotFoundResponse()
  setModels(@Param('group_name') groupName: string, @Body() dto: SetGroupModelsDto) {
    return this.groups.setModels(groupName, dto.models);
  }

  /** Delete a group (409 while teams hold it; force=true also removes it from them); effective within 5 s. */
  @Delete(':group_name')
  @HttpCode(200)
  @ApiBadRequestResponse({ description: 'force is not true/false' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Teams hold the group (use ?force=true)' })
  remove(@Param('group_name') groupName: string, @Query() query: DeleteModelGroupQueryDto) {
    return this.groups.remove(groupName, query.force ?? false);
  }
}
