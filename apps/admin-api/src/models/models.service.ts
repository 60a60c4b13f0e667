import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { ModelDeployment, ModelGroup, newestFirst, Provider, ProviderCredential } from '@app/db';
import {
  badRequest,
  conflict,
  decodeCursor,
  notFound,
  Page,
  toPage,
  TollgateError,
} from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import {
  assertApiBaseAllowed,
  compatibleProviders,
  deploymentProblem,
  groupsListing,
  lockModelNames,
} from './catalog-rules';
import { CreateModelDto } from './dto/create-model.dto';
import { ListModelsQueryDto } from './dto/list-models.query';
import { UpdateModelDto } from './dto/update-model.dto';
import { ModelResponse, toModelResponse } from './model.mapper';

interface Routing {
  provider: Provider;
  credentialId: string | null;
  apiBase: string | null;
}

@Injectable()
export class ModelsService {
  constructor(
    private readonly db: AdminDb,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
  ) {}

  async create(dto: CreateModelDto): Promise<ModelResponse> {
    assertApiBaseAllowed(dto.api_base, this.config.upstream.allowLinkLocalApiBase);
    const modelId = await this.db.transaction(async (manager) => {
      await lockModelNames(manager, [dto.model_name]);
      await this.assertNotGroupName(manager, dto.model_name);
      await this.assertRoutable(manager, {
        provider: dto.provider,
        credentialId: dto.credential_id ?? null,
        apiBase: dto.api_base ?? null,
      });
      const inserted = await manager.insert(ModelDeployment, {
        modelName: dto.model_name,
        provider: dto.provider,
        providerModel: dto.provider_model,
        credentialId: dto.credential_id ?? null,
        apiBase: dto.api_base ?? null,
        inputPricePerMillion: dto.input_price_per_million,
        outputPricePerMillion: dto.output_price_per_million,
        cachedInputPricePerMillion: dto.cached_input_price_per_million ?? null,
        cacheWritePricePerMillion: dto.cache_write_price_per_million ?? null,
        weight: dto.weight ?? 1,
        status: dto.status ?? 'active',
      });
      return (inserted.identifiers[0] as { modelId: string }).modelId;
    });
    return this.get(modelId);
  }

  async list(query: ListModelsQueryDto): Promise<Page<ModelResponse>> {
    const limit = query.limit ?? 50;
    const position = decodeCursor(query.cursor);
    const qb = this.db.manager.getRepository(ModelDeployment).createQueryBuilder('d');
    if (query.model_name) qb.andWhere('d.model_name = :name', { name: query.model_name });
    if (query.provider) qb.andWhere('d.provider = :provider', { provider: query.provider });
    if (query.status) qb.andWhere('d.status = :status', { status: query.status });
    return toPage(await newestFirst(qb, 'd', 'model_id', position, limit), toModelResponse);
  }

  async get(modelId: string): Promise<ModelResponse> {
    return toModelResponse(await this.require(this.db.manager, modelId));
  }

  /** Partial update, validated as a whole: the merged deployment must still be routable. */
  async update(modelId: string, dto: UpdateModelDto): Promise<ModelResponse> {
    assertApiBaseAllowed(dto.api_base, this.config.upstream.allowLinkLocalApiBase);
    await this.db.transaction(async (manager) => {
      const current = await this.require(manager, modelId, true);
      const renamed = dto.model_name !== undefined && dto.model_name !== current.modelName;
      if (renamed) {
        await lockModelNames(manager, [current.modelName, dto.model_name!]);
        await this.assertNotGroupName(manager, dto.model_name!);
        await this.assertNotLastOfGroupedModel(manager, current);
      }
      const routing: Routing = {
        provider: dto.provider ?? current.provider,
        credentialId: dto.credential_id === undefined ? current.credentialId : dto.credential_id,
        apiBase: dto.api_base === undefined ? current.apiBase : dto.api_base,
      };
      await this.assertRoutable(manager, routing);
      const changes: QueryDeepPartialEntity<ModelDeployment> = {
        ...(dto.model_name !== undefined ? { modelName: dto.model_name } : {}),
        ...(dto.provider_model !== undefined ? { providerModel: dto.provider_model } : {}),
        ...(dto.input_price_per_million !== undefined
          ? { inputPricePerMillion: dto.input_price_per_million }
          : {}),
        ...(dto.output_price_per_million !== undefined
          ? { outputPricePerMillion: dto.output_price_per_million }
          : {}),
        ...(dto.cached_input_price_per_million !== undefined
          ? { cachedInputPricePerMillion: dto.cached_input_price_per_million }
          : {}),
        ...(dto.cache_write_price_per_million !== undefined
          ? { cacheWritePricePerMillion: dto.cache_write_price_per_million }
          : {}),
        ...(dto.weight !== undefined ? { weight: dto.weight } : {}),
        ...(dto.status !== undefined ? { status: dto.status } : {}),
        provider: routing.provider,
        credentialId: routing.credentialId,
        apiBase: routing.apiBase,
      };
      await manager.update(ModelDeployment, { modelId }, changes);
    });
    return this.get(modelId);
  }

  /** Delete a deployment; refused for the last deployment of a model a group still lists. */
  async remove(modelId: string): Promise<ModelResponse> {
    return this.db.transaction(async (manager) => {
      const current = await this.require(manager, modelId, true);
      await lockModelNames(manager, [current.modelName]);
      await this.assertNotLastOfGroupedModel(manager, current);
      await manager.delete(ModelDeployment, { modelId });
      return toModelResponse(current);
    });
  }

  private async require(
    manager: EntityManager,
    modelId: string,
    forUpdate = false,
  ): Promise<ModelDeployment> {
    const deployment = await manager.findOne(ModelDeployment, {
      where: { modelId },
      ...(forUpdate ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!deployment) throw notFound('Model', modelId);
    return deployment;
  }

  /** The credential exists and fits the provider, and the gateway will have a base URL to call. */
  private async assertRoutable(manager: EntityManager, routing: Routing): Promise<void> {
    let credentialApiBase: string | null = null;
    if (routing.credentialId) {
      // FOR SHARE: the credential cannot be deleted until this transaction ends.
      const credential = await manager.findOne(ProviderCredential, {
        where: { credentialId: routing.credentialId },
        lock: { mode: 'pessimistic_read' },
      });
      if (!credential) {
        throw new TollgateError(
          'NOT_FOUND',
          `credential_id: provider credential '${routing.credentialId}' not found`,
        );
      }
      if (!compatibleProviders(routing.provider, credential.provider)) {
        throw badRequest(
          `credential_id: a '${credential.provider}' credential cannot serve a '${routing.provider}' deployment`,
        );
      }
      credentialApiBase = credential.apiBase;
    }
    const problem = deploymentProblem({ ...routing, credentialApiBase });
    if (problem) throw badRequest(problem);
  }

  /** A group name and a model name may not coincide (a request's `model` would be ambiguous). */
  private async assertNotGroupName(manager: EntityManager, modelName: string): Promise<void> {
    if (await manager.existsBy(ModelGroup, { groupName: modelName })) {
      throw conflict(`model_name: '${modelName}' is already the name of a model group`);
    }
  }

  private async assertNotLastOfGroupedModel(
    manager: EntityManager,
    deployment: ModelDeployment,
  ): Promise<void> {
    const others: unknown[] = await manager.query(
      'SELECT 1 FROM model_deployments WHERE model_name = $1 AND model_id <> $2 LIMIT 1',
      [deployment.modelName, deployment.modelId],
    );
    if (others.length > 0) return;
    const groups = await groupsListing(manager, deployment.modelName);
    if (groups.length > 0) {
      throw conflict(
        `'${deployment.modelName}' would have no deployment left but model group(s) ${groups.join(', ')} list it; remove it from them first`,
      );
    }
  }
}
