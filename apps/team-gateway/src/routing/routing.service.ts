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
  /**
   * Each deployment's target, its credential decrypted once (an AES-GCM decipher per attempt was
   * ~1 % of a loaded gateway's CPU). Keyed by the catalog's own objects: a reload (a credential
   * changed, rotated or re-encrypted) makes new ones, and the old plaintext goes with the old catalog.
   */
  private readonly targets = new WeakMap<Deployment, ProviderTarget>();

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

  /**
   * Every value the key may send as `model` (model and group names) with when it first appeared
   * (Unix seconds), on data loaded after the request arrived: a list answers what an operator
   * has just granted (a listing is rare; calls use the cache).
   */
  async usableModels(principal: TeamPrincipal): Promise<Array<{ name: string; created: number }>> {
    const now = Date.now();
    const catalog = await this.catalog.refreshOnMiss(now);
    const teamGroups = await this.catalog.groupsOf(principal.teamId, now);
    return usableNames(catalog, { teamGroups, keyModels: principal.keyModels }).map((name) => ({
      name,
      created: catalog.createdAt.get(name) ?? 0,
    }));
  }

  /** When a model or group name first appeared (Unix seconds; 0 when unknown). */
  async createdAt(name: string): Promise<number> {
    return (await this.catalog.get()).createdAt.get(name) ?? 0;
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
    let target = this.targets.get(deployment);
    if (!target) {
      target = {
        provider: deployment.provider,
        apiBase: deployment.apiBase ?? DEFAULT_API_BASE[deployment.provider] ?? '',
        apiKey: deployment.credential ? this.cipher.decrypt(deployment.credential) : null,
        providerModel: deployment.providerModel,
        ...(deployment.settings ? { settings: deployment.settings } : {}),
      };
      this.targets.set(deployment, target);
    }
    return target;
  }
}
