import { Injectable } from '@nestjs/common';
import { CredentialCipher, TeamPrincipal } from '@app/auth';
import { TollgateError } from '@app/http';
import type { ProviderTarget } from '../providers/provider.types';
import { CatalogService } from './catalog.service';
import { DeploymentHealth } from './deployment-health';
import {
  Access,
  Deployment,
  modelExists,
  planAttempts,
  resolveModels,
  usableNames,
} from './resolver';

const DEFAULT_API_BASE: Partial<Record<ProviderTarget['provider'], string>> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
};

/** Model access and resolution (SPEC §4): which deployments may serve a request, in order. */
@Injectable()
export class RoutingService {
  private readonly health = new DeploymentHealth();

  constructor(
    private readonly catalog: CatalogService,
    private readonly cipher: CredentialCipher,
  ) {}

  /** A retryable failure (429, 5xx, timeout, connection): tried last for a while. */
  reportFailure(deployment: Deployment, retryAfterMs?: number): void {
    this.health.failed(deployment.modelId, Date.now(), retryAfterMs);
  }

  reportSuccess(deployment: Deployment): void {
    this.health.succeeded(deployment.modelId);
  }

  /** Deployments to try in order; throws MODEL_NOT_FOUND / MODEL_ACCESS_DENIED before any I/O upstream. */
  async plan(principal: TeamPrincipal, requested: string): Promise<Deployment[]> {
    const arrived = Date.now();
    let catalog = await this.catalog.get();
    if (!modelExists(catalog, requested)) catalog = await this.catalog.refreshOnMiss(arrived);
    const access: Access = {
      teamGroups: await this.catalog.groupsOf(principal.teamId),
      keyModels: principal.keyModels,
    };
    try {
      return this.health.order(
        planAttempts(
          catalog,
          resolveModels(catalog, access, requested),
          Math.random,
          principal.organizationId,
        ),
      );
    } catch (err) {
      if (!(err instanceof TollgateError) || err.code !== 'MODEL_ACCESS_DENIED') throw err;
      // A grant made in the last few seconds: look again with fresh data before refusing.
      catalog = await this.catalog.refreshOnMiss(arrived);
      access.teamGroups = await this.catalog.groupsOf(principal.teamId, arrived);
      return this.health.order(
        planAttempts(
          catalog,
          resolveModels(catalog, access, requested),
          Math.random,
          principal.organizationId,
        ),
      );
    }
  }

  /** Every value the key may send as `model` (model and group names), on freshly loaded data. */
  async usableNames(principal: TeamPrincipal): Promise<string[]> {
    const now = Date.now();
    const catalog = await this.catalog.refreshOnMiss(now);
    const teamGroups = await this.catalog.groupsOf(principal.teamId, now);
    return usableNames(catalog, { teamGroups, keyModels: principal.keyModels });
  }

  /**
   * The model names `requested` may be served by, without planning deployments: throws
   * MODEL_NOT_FOUND (404) for an unknown name, MODEL_ACCESS_DENIED (403) for a denied one.
   */
  async resolve(principal: TeamPrincipal, requested: string): Promise<string[]> {
    const arrived = Date.now();
    let catalog = await this.catalog.get();
    if (!modelExists(catalog, requested)) catalog = await this.catalog.refreshOnMiss(arrived);
    const access: Access = {
      teamGroups: await this.catalog.groupsOf(principal.teamId),
      keyModels: principal.keyModels,
    };
    try {
      return resolveModels(catalog, access, requested);
    } catch (err) {
      if (!(err instanceof TollgateError) || err.code !== 'MODEL_ACCESS_DENIED') throw err;
      catalog = await this.catalog.refreshOnMiss(arrived);
      access.teamGroups = await this.catalog.groupsOf(principal.teamId, arrived);
      return resolveModels(catalog, access, requested);
    }
  }

  /** Where to send the attempt; the provider key is decrypted only now and never logged. */
  target(deployment: Deployment): ProviderTarget {
    return {
      provider: deployment.provider,
      apiBase: deployment.apiBase ?? DEFAULT_API_BASE[deployment.provider] ?? '',
      apiKey: deployment.credential ? this.cipher.decrypt(deployment.credential) : null,
      providerModel: deployment.providerModel,
      ...(deployment.settings ? { settings: deployment.settings } : {}),
    };
  }
}
