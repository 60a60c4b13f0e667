import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { CredentialCipher } from '@app/auth';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import {
  ModelDeployment,
  newestFirst,
  Organization,
  Provider,
  ProviderCredential,
  ProviderCredentialSettings,
} from '@app/db';
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
import { apiKeyTail, assertApiBaseAllowed, pgCode, requiresApiKey } from '../models/catalog-rules';
import { CreateProviderCredentialDto } from './dto/create-provider-credential.dto';
import { ListProviderCredentialsQueryDto } from './dto/list-provider-credentials.query';
import { UpdateProviderCredentialDto } from './dto/update-provider-credential.dto';
import {
  ProviderCredentialResponse,
  toProviderCredentialResponse,
} from './provider-credential.mapper';

type AwsKeyFields = Pick<
  CreateProviderCredentialDto,
  'aws_access_key_id' | 'aws_secret_access_key' | 'aws_session_token'
>;

/** Fields that belong to one provider only, as a 400 naming the first one sent to another. */
const ONLY_FOR: Array<[keyof UpdateProviderCredentialDto, Provider]> = [
  ['api_version', 'azure-openai'],
  ['aws_region', 'bedrock'],
  ['aws_access_key_id', 'bedrock'],
  ['aws_secret_access_key', 'bedrock'],
  ['aws_session_token', 'bedrock'],
];

function assertFieldsFit(provider: Provider, dto: UpdateProviderCredentialDto): void {
  for (const [field, owner] of ONLY_FOR) {
    if (dto[field] !== undefined && dto[field] !== null && provider !== owner) {
      throw badRequest(`${field}: only for provider '${owner}', not '${provider}'`);
    }
  }
  if (provider === 'bedrock' && dto.api_key !== undefined) {
    throw badRequest(
      "api_key: not used by provider 'bedrock'; send aws_access_key_id and aws_secret_access_key",
    );
  }
}

function settingsOf(dto: CreateProviderCredentialDto): ProviderCredentialSettings {
  return {
    ...(dto.api_version ? { api_version: dto.api_version } : {}),
    ...(dto.aws_region ? { region: dto.aws_region } : {}),
  };
}

const duplicate = (name: string) =>
  conflict(`A provider credential named '${name}' already exists in this organization`);

@Injectable()
export class ProviderCredentialsService {
  constructor(
    private readonly db: AdminDb,
    private readonly cipher: CredentialCipher,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
  ) {}

  async create(dto: CreateProviderCredentialDto): Promise<ProviderCredentialResponse> {
    const organizationId = dto.organization_id ?? null;
    assertFieldsFit(dto.provider, dto);
    if (requiresApiKey(dto.provider) && !dto.api_key) {
      throw badRequest(`api_key: required for provider '${dto.provider}'`);
    }
    if (dto.provider === 'openai-compatible' && !dto.api_base) {
      throw badRequest(
        "api_base: required for provider 'openai-compatible', including the version segment, e.g. http://localhost:11434/v1",
      );
    }
    if (dto.provider === 'azure-openai' && !dto.api_base) {
      throw badRequest(
        "api_base: required for provider 'azure-openai': the resource endpoint, e.g. https://my-resource.openai.azure.com",
      );
    }
    if (dto.provider === 'bedrock') {
      for (const field of ['aws_region', 'aws_access_key_id', 'aws_secret_access_key'] as const) {
        if (!dto[field]) throw badRequest(`${field}: required for provider 'bedrock'`);
      }
    }
    assertApiBaseAllowed(dto.api_base, this.config.upstream.allowLinkLocalApiBase);
    const id = await this.unique(dto.credential_name, () =>
      this.db.transaction(async (manager) => {
        if (
          organizationId !== null &&
          !(await manager.existsBy(Organization, { organizationId }))
        ) {
          throw notFound('Organization', organizationId);
        }
        await this.assertNameFree(manager, organizationId, dto.credential_name);
        const inserted = await manager.insert(ProviderCredential, {
          organizationId,
          provider: dto.provider,
          credentialName: dto.credential_name,
          apiBase: dto.api_base ?? null,
          settings: settingsOf(dto),
          ...(dto.provider === 'bedrock' ? this.sealedAwsKeys(dto) : this.sealed(dto.api_key)),
        } as QueryDeepPartialEntity<ProviderCredential>);
        return (inserted.identifiers[0] as { credentialId: string }).credentialId;
      }),
    );
    return this.get(id);
  }

  async list(query: ListProviderCredentialsQueryDto): Promise<Page<ProviderCredentialResponse>> {
    const limit = query.limit ?? 50;
    const position = decodeCursor(query.cursor);
    const qb = this.db.manager.getRepository(ProviderCredential).createQueryBuilder('c');
    if (query.organization_id)
      qb.andWhere('c.organization_id = :org', { org: query.organization_id });
    if (query.provider) qb.andWhere('c.provider = :provider', { provider: query.provider });
    return toPage(
      await newestFirst(qb, 'c', 'credential_id', position, limit),
      toProviderCredentialResponse,
    );
  }

  async get(credentialId: string): Promise<ProviderCredentialResponse> {
    return toProviderCredentialResponse(await this.require(this.db.manager, credentialId));
  }

  /** Partial update; a new api_key is sealed under the current encryption key. */
  async update(
    credentialId: string,
    dto: UpdateProviderCredentialDto,
  ): Promise<ProviderCredentialResponse> {
    assertApiBaseAllowed(dto.api_base, this.config.upstream.allowLinkLocalApiBase);
    await this.unique(dto.credential_name ?? '', () =>
      this.db.transaction(async (manager) => {
        const current = await this.require(manager, credentialId, true);
        assertFieldsFit(current.provider, dto);
        if (
          dto.api_base === null &&
          (current.provider === 'openai-compatible' || current.provider === 'azure-openai')
        ) {
          throw badRequest(`api_base: required for provider '${current.provider}'`);
        }
        const rotatesPair =
          dto.aws_access_key_id !== undefined ||
          dto.aws_secret_access_key !== undefined ||
          dto.aws_session_token !== undefined;
        if (rotatesPair) {
          for (const field of ['aws_access_key_id', 'aws_secret_access_key'] as const) {
            if (!dto[field]) {
              throw badRequest(
                `${field}: required with any new AWS key (the pair is replaced as a whole)`,
              );
            }
          }
        }
        const changes: QueryDeepPartialEntity<ProviderCredential> = {};
        if (dto.credential_name !== undefined && dto.credential_name !== current.credentialName) {
          await this.assertNameFree(manager, current.organizationId, dto.credential_name);
          changes.credentialName = dto.credential_name;
        }
        if (dto.api_base !== undefined) changes.apiBase = dto.api_base;
        if (dto.api_key !== undefined) Object.assign(changes, this.sealed(dto.api_key));
        if (rotatesPair) Object.assign(changes, this.sealedAwsKeys(dto));
        if (dto.api_version !== undefined || dto.aws_region !== undefined) {
          const settings = { ...current.settings };
          if (dto.api_version === null) delete settings.api_version;
          else if (dto.api_version !== undefined) settings.api_version = dto.api_version;
          if (dto.aws_region !== undefined) settings.region = dto.aws_region;
          changes.settings = settings;
        }
        if (Object.keys(changes).length > 0) {
          await manager.update(ProviderCredential, { credentialId }, changes);
        }
      }),
    );
    return this.get(credentialId);
  }

  /** Deactivated credentials take their deployments out of routing (gateway catalog, ≤ 5 s). */
  async setActive(credentialId: string, isActive: boolean): Promise<ProviderCredentialResponse> {
    const result = await this.db.manager
      .getRepository(ProviderCredential)
      .update({ credentialId }, { isActive });
    if (!result.affected) throw notFound('Provider credential', credentialId);
    return this.get(credentialId);
  }

  /** Refused (409) while any deployment refers to the credential: deleting never orphans one. */
  async remove(credentialId: string): Promise<ProviderCredentialResponse> {
    try {
      return await this.db.transaction(async (manager) => {
        const credential = await this.require(manager, credentialId, true);
        const users = await manager.find(ModelDeployment, {
          where: { credentialId },
          select: { modelId: true, modelName: true },
          order: { modelName: 'ASC' },
          take: 20,
        });
        if (users.length > 0) {
          throw conflict(
            `Provider credential '${credentialId}' is used by deployment(s) ${users
              .map((d) => `${d.modelId} (${d.modelName})`)
              .join(', ')}; delete or repoint them first, or deactivate the credential`,
          );
        }
        await manager.delete(ProviderCredential, { credentialId });
        return toProviderCredentialResponse(credential);
      });
    } catch (err) {
      if (pgCode(err) === '23503') {
        throw conflict(`Provider credential '${credentialId}' is used by a deployment`);
      }
      throw err;
    }
  }

  async require(
    manager: EntityManager,
    credentialId: string,
    forUpdate = false,
  ): Promise<ProviderCredential> {
    const credential = await manager.findOne(ProviderCredential, {
      where: { credentialId },
      ...(forUpdate ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!credential) throw notFound('Provider credential', credentialId);
    return credential;
  }

  /** A bedrock credential's secret: its AWS key pair, sealed as one JSON document. */
  private sealedAwsKeys(dto: AwsKeyFields): Partial<ProviderCredential> {
    const keys = {
      access_key_id: dto.aws_access_key_id,
      secret_access_key: dto.aws_secret_access_key,
      ...(dto.aws_session_token ? { session_token: dto.aws_session_token } : {}),
    };
    const { ciphertext, keyId } = this.cipher.encrypt(JSON.stringify(keys));
    return {
      apiKeyEncrypted: ciphertext,
      encryptionKeyId: keyId,
      apiKeyLast4: dto.aws_access_key_id ? apiKeyTail(dto.aws_access_key_id) : null,
    };
  }

  private sealed(apiKey: string | undefined): Partial<ProviderCredential> {
    if (apiKey === undefined) return {};
    const { ciphertext, keyId } = this.cipher.encrypt(apiKey);
    return { apiKeyEncrypted: ciphertext, encryptionKeyId: keyId, apiKeyLast4: apiKeyTail(apiKey) };
  }

  /**
   * Names are unique per organization; the unique index cannot see two shared (null-organization)
   * rows as equal, so the check runs under an advisory lock on the (organization, name) pair.
   */
  private async assertNameFree(
    manager: EntityManager,
    organizationId: string | null,
    name: string,
  ): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
      `tollgate:credential:${organizationId ?? ''}:${name}`,
    ]);
    const taken: unknown[] = await manager.query(
      `SELECT 1 FROM provider_credentials
        WHERE organization_id IS NOT DISTINCT FROM $1 AND credential_name = $2`,
      [organizationId, name],
    );
    if (taken.length > 0) throw duplicate(name);
  }

  /** Maps a unique violation that slipped past the check (a race) to the same 409. */
  private async unique<T>(name: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof TollgateError) && pgCode(err) === '23505') throw duplicate(name);
      throw err;
    }
  }
}
