import { Injectable } from '@nestjs/common';
import { EntityManager, In, MoreThan } from 'typeorm';
import { ModelDeployment, ModelGroup, TeamModelGroup } from '@app/db';
import { badRequest, conflict, notFound, Page } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { lockModelNames } from '../models/catalog-rules';
import { CreateModelGroupDto } from './dto/create-model-group.dto';
import { decodeGroupCursor, encodeGroupCursor } from './group-cursor';
import { ModelGroupResponse, toModelGroupResponse } from './model-group.mapper';

@Injectable()
export class ModelGroupsService {
  constructor(private readonly db: AdminDb) {}

  async create(dto: CreateModelGroupDto): Promise<ModelGroupResponse> {
    await this.db.transaction(async (manager) => {
      await lockModelNames(manager, [dto.group_name, ...dto.models]);
      if (await manager.existsBy(ModelDeployment, { modelName: dto.group_name })) {
        throw conflict(`group_name: '${dto.group_name}' is already the name of a model`);
      }
      await this.assertModelsDeployed(manager, dto.models);
      const inserted: unknown[] = await manager.query(
        `INSERT INTO model_groups (group_name, description, models) VALUES ($1, $2, $3)
         ON CONFLICT (group_name) DO NOTHING RETURNING group_name`,
        [dto.group_name, dto.description ?? null, dto.models],
      );
      if (inserted.length === 0) throw conflict(`Model group '${dto.group_name}' already exists`);
    });
    return this.get(dto.group_name);
  }

  /** Groups in name order, keyset-paginated on group_name. */
  async list(limit = 50, cursor?: string): Promise<Page<ModelGroupResponse>> {
    const after = decodeGroupCursor(cursor);
    const rows = await this.db.manager.getRepository(ModelGroup).find({
      where: after === null ? {} : { groupName: MoreThan(after) },
      order: { groupName: 'ASC' },
      take: limit + 1,
    });
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      data: page.map(toModelGroupResponse),
      next_cursor: more ? encodeGroupCursor(page[page.length - 1].groupName) : null,
    };
  }

  async get(groupName: string): Promise<ModelGroupResponse> {
    return toModelGroupResponse(await this.require(this.db.manager, groupName));
  }

  /** Replace the group's models (priority order); the gateway sees it within 5 s. */
  async setModels(groupName: string, models: string[]): Promise<ModelGroupResponse> {
    await this.db.transaction(async (manager) => {
      await this.require(manager, groupName, true);
      await lockModelNames(manager, models);
      await this.assertModelsDeployed(manager, models);
      await manager.update(ModelGroup, { groupName }, { models });
    });
    return this.get(groupName);
  }

  /**
   * 409 while teams hold the group; with force, the team links go in the same transaction.
   * The row lock blocks teams from being granted the group meanwhile (their FK needs a share lock).
   */
  async remove(groupName: string, force: boolean) {
    return this.db.transaction(async (manager) => {
      const group = await this.require(manager, groupName, true);
      const holders = await manager.find(TeamModelGroup, {
        where: { groupName },
        select: { teamId: true },
        order: { teamId: 'ASC' },
      });
      if (holders.length > 0 && !force) {
        const shown = holders.slice(0, 20).map((h) => h.teamId);
        throw conflict(
          `Model group '${groupName}' is held by ${holders.length} team(s) (${shown.join(', ')}${
            holders.length > shown.length ? ', …' : ''
          }); remove it from them first or delete with ?force=true`,
        );
      }
      await manager.delete(TeamModelGroup, { groupName });
      await manager.delete(ModelGroup, { groupName });
      return { ...toModelGroupResponse(group), removed_from_teams: holders.map((h) => h.teamId) };
    });
  }

  private async require(
    manager: EntityManager,
    groupName: string,
    forUpdate = false,
  ): Promise<ModelGroup> {
    const group = await manager.findOne(ModelGroup, {
      where: { groupName },
      ...(forUpdate ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!group) throw notFound('Model group', groupName);
    return group;
  }

  private async assertModelsDeployed(manager: EntityManager, models: string[]): Promise<void> {
    const found = await manager
      .createQueryBuilder(ModelDeployment, 'd')
      .select('DISTINCT d.model_name', 'model_name')
      .where({ modelName: In(models) })
      .getRawMany<{ model_name: string }>();
    const known = new Set(found.map((r) => r.model_name));
    const unknown = models.filter((m) => !known.has(m));
    if (unknown.length > 0) {
      throw badRequest(`models: no deployment for model(s): ${unknown.join(', ')}`);
    }
  }
}
