import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { newestFirst, Organization } from '@app/db';
import { conflict, decodeCursor, notFound, Page, toPage } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { CreateOrganizationDto } from './dto/create-organization.dto';
import { OrganizationResponse, toOrganizationResponse } from './organization.mapper';

@Injectable()
export class OrganizationsService {
  constructor(private readonly db: AdminDb) {}

  private get orgs() {
    return this.db.manager.getRepository(Organization);
  }

  async create(dto: CreateOrganizationDto): Promise<OrganizationResponse> {
    const inserted = await this.orgs
      .createQueryBuilder()
      .insert()
      .values({
        organizationId: dto.organization_id,
        name: dto.name,
        metadata: dto.metadata ?? {},
      } as QueryDeepPartialEntity<Organization>)
      .orIgnore()
      .returning('*')
      .execute();
    if ((inserted.raw as unknown[]).length === 0) {
      throw conflict(`Organization '${dto.organization_id}' already exists`);
    }
    return toOrganizationResponse(await this.require(dto.organization_id));
  }

  async list(limit = 50, cursor?: string): Promise<Page<OrganizationResponse>> {
    const position = decodeCursor(cursor, 'name');
    const qb = this.orgs.createQueryBuilder('o');
    return toPage(
      await newestFirst(qb, 'o', 'organization_id', position, limit),
      toOrganizationResponse,
    );
  }

  async get(organizationId: string): Promise<OrganizationResponse> {
    return toOrganizationResponse(await this.require(organizationId));
  }

  async require(organizationId: string): Promise<Organization> {
    const org = await this.orgs.findOneBy({ organizationId });
    if (!org) throw notFound('Organization', organizationId);
    return org;
  }
}
