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
import { UuidParam } from '@app/http';
import { CatalogChangedInterceptor } from '../catalog-changed.interceptor';
import { CreateModelDto } from './dto/create-model.dto';
import { ListModelsQueryDto } from './dto/list-models.query';
import { UpdateModelDto } from './dto/update-model.dto';
import { ModelsService } from './models.service';

const MODEL_ID = 'model_id';

/** Model deployments. The gateway reloads its routing catalog at most 5 s after a change here. */
@ApiTags('models')
@AdminAuth()
@UseInterceptors(CatalogChangedInterceptor)
@Controller('api/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  /** Add a deployment of a model name (several share one, balanced by weight); routable within 5 s. */
  @Post('create')
  @ApiBadRequestResponse({
    description: 'Invalid body, bad api_base, incompatible credential, or nothing to route to',
  })
  @ApiNotFoundResponse({ description: 'credential_id not found' })
  @ApiConflictResponse({ description: 'model_name is already a model group name' })
  create(@Body() dto: CreateModelDto) {
    return this.models.create(dto);
  }

  /** List deployments, newest first (filter by model_name, provider, status). */
  @Get()
  @ApiBadRequestResponse({ description: 'Bad limit, cursor or filter' })
  list(@Query() query: ListModelsQueryDto) {
    return this.models.list(query);
  }

  /** One deployment. */
  @Get(':model_id')
  @ApiBadRequestResponse({ description: 'model_id is not a UUID' })
  @ApiNotFoundResponse()
  get(@Param(MODEL_ID, UuidParam(MODEL_ID)) modelId: string) {
    return this.models.get(modelId);
  }

  /** Partial update (null clears credential_id / api_base); gateways use it within 5 s. */
  @Put(':model_id')
  @ApiBadRequestResponse({ description: 'Invalid body, or the result would not be routable' })
  @ApiNotFoundResponse({ description: 'Model or credential_id not found' })
  @ApiConflictResponse({
    description: 'New model_name is a group name, or a group would lose its last deployment',
  })
  update(@Param(MODEL_ID, UuidParam(MODEL_ID)) modelId: string, @Body() dto: UpdateModelDto) {
    return this.models.update(modelId, dto);
  }

  /** Delete a deployment (returns it); gateways stop routing to it within 5 s. */
  @Delete(':model_id')
  @HttpCode(200)
  @ApiNotFoundResponse()
  @ApiConflictResponse({
    description: 'Last deployment of a model that a model group still lists',
  })
  remove(@Param(MODEL_ID, UuidParam(MODEL_ID)) modelId: string) {
    return this.models.remove(modelId);
  }
}
