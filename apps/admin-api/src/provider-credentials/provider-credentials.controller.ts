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
import { CreateProviderCredentialDto } from './dto/create-provider-credential.dto';
import { ListProviderCredentialsQueryDto } from './dto/list-provider-credentials.query';
import { UpdateProviderCredentialDto } from './dto/update-provider-credential.dto';
import { ProviderCredentialsService } from './provider-credentials.service';

const CREDENTIAL_ID = 'credential_id';

/**
 * Provider API keys, encrypted at rest and never returned. The gateway reloads its routing
 * catalog at most 5 s after a change here.
 */
@ApiTags('provider-credentials')
@AdminAuth()
@UseInterceptors(CatalogChangedInterceptor)
@Controller('api/provider-credentials')
export class ProviderCredentialsController {
  constructor(private readonly credentials: ProviderCredentialsService) {}

  /** Store a provider credential; the api_key is encrypted and only its masked tail is shown. */
  @Post('create')
  @ApiBadRequestResponse({
    description: 'Invalid body, bad api_base URL, missing api_key/api_base',
  })
  @ApiNotFoundResponse({ description: 'Organization not found' })
  @ApiConflictResponse({ description: 'credential_name already used in the organization' })
  create(@Body() dto: CreateProviderCredentialDto) {
    return this.credentials.create(dto);
  }

  /** List credentials, newest first (filter by organization_id, provider). */
  @Get()
  @ApiBadRequestResponse({ description: 'Bad limit, cursor or filter' })
  list(@Query() query: ListProviderCredentialsQueryDto) {
    return this.credentials.list(query);
  }

  /** One credential (api_key never shown: has_api_key and masked_api_key only). */
  @Get(':credential_id')
  @ApiBadRequestResponse({ description: 'credential_id is not a UUID' })
  @ApiNotFoundResponse()
  get(@Param(CREDENTIAL_ID, UuidParam(CREDENTIAL_ID)) credentialId: string) {
    return this.credentials.get(credentialId);
  }

  /** Partial update (only the fields sent change; a new api_key is re-encrypted); gateways use it within 5 s. */
  @Put(':credential_id')
  @ApiBadRequestResponse({ description: 'Invalid body or bad api_base URL' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'credential_name already used in the organization' })
  update(
    @Param(CREDENTIAL_ID, UuidParam(CREDENTIAL_ID)) credentialId: string,
    @Body() dto: UpdateProviderCredentialDto,
  ) {
    return this.credentials.update(credentialId, dto);
  }

  /** Put the credential (and the deployments using it) back into routing within 5 s. */
  @Put(':credential_id/activate')
  @ApiNotFoundResponse()
  activate(@Param(CREDENTIAL_ID, UuidParam(CREDENTIAL_ID)) credentialId: string) {
    return this.credentials.setActive(credentialId, true);
  }

  /** Take the credential's deployments out of routing (within 5 s) without deleting anything. */
  @Put(':credential_id/deactivate')
  @ApiNotFoundResponse()
  deactivate(@Param(CREDENTIAL_ID, UuidParam(CREDENTIAL_ID)) credentialId: string) {
    return this.credentials.setActive(credentialId, false);
  }

  /** Delete a credential no deployment uses; returns the deleted credential. */
  @Delete(':credential_id')
  @HttpCode(200)
  @ApiNotFoundResponse()
  @ApiConflictResponse({
    description: 'Deployments still refer to it: delete or repoint them, or deactivate instead',
  })
  remove(@Param(CREDENTIAL_ID, UuidParam(CREDENTIAL_ID)) credentialId: string) {
    return this.credentials.remove(credentialId);
  }
}
