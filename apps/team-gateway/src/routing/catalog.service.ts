import { AsyncResource } from 'node:async_hooks';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CatalogEvents } from '@app/cache';
import type { Provider, ProviderCredentialSettings } from '@app/db';
import type { Catalog, Deployment } from './resolver';

/**
 * Staleness bound: changes to deployments, groups, credentials and a team's groups reach this
 * replica at once when admin-api announces them (CatalogEvents over Redis), else within
 * CACHE_TTL_MS (UNANNOUNCED_TTL_MS without Redis, where announcements stay in their process, or
 * while Redis is away).
 * A name that is unknown (or denied) here is looked up again in data loaded after the request
 * arrived (concurrent misses share one load), so new models and grants are seen at once.
 * Data older than half its lifetime is reloaded in the background while requests go on using it,
 * so under steady traffic no request waits for a reload; a request waits only for data past its
 * lifetime (or older than an announced change), so the bound above is unchanged.
 */
const CACHE_TTL_MS = 5_000;
/** Without Redis (the embedded default, or an outage) admin-api's announcements do not arrive. */
const UNANNOUNCED_TTL_MS = 1_000;

interface DeploymentRow {
  model_id: string;
  model_name: string;
  provider: Provider;
  provider_model: string;
  api_base: string | null;
  input_price_per_million: string;
  output_price_per_million: string;
  cached_input_price_per_million: string | null;
  cache_write_price_per_million: string | null;
  weight: number;
  status: string;
  credential_id: string | null;
  api_key_encrypted: string | null;
  encryption_key_id: string | null;
  credential_api_base: string | null;
  credential_settings: ProviderCredentialSettings | null;
  credential_active: boolean | null;
  credential_org: string | null;
  created: number;
}

interface Cached<T> {
  value: T;
  loadedAt: number;
}

/** In-process cache of the routing catalog, kept off the request hot path. */
@Injectable()
export class CatalogService implements OnModuleInit {
  private catalog: Cached<Catalog> | null = null;
  private loading: { promise: Promise<Catalog>; startedAt: number } | null = null;
  private readonly teamGroups = new Map<string, Cached<string[]>>();
  /** Anything loaded before this instant predates an announced change. */
  private staleBefore = 0;
  private readonly logger = new Logger('Catalog');
  /** Teams whose groups are being reloaded in the background. */
  private readonly reloadingGroups = new Set<string>();
  /** Background reloads run in their own async scope: no request waits for them. */
  private readonly background = new AsyncResource('TollgateCatalog');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: CatalogEvents,
  ) {}

  private get ttlMs(): number {
    return this.events.reachOtherProcesses ? CACHE_TTL_MS : UNANNOUNCED_TTL_MS;
  }

  async onModuleInit(): Promise<void> {
    await this.events.onChange(() => {
      this.staleBefore = Date.now();
      this.teamGroups.clear();
    });
  }

  async get(): Promise<Catalog> {
    const cached = this.catalog;
    if (cached && this.fresh(cached.loadedAt)) {
      if (this.ageing(cached.loadedAt) && !this.loading) {
        this.inBackground('catalog', () => this.reload());
      }
      return cached.value;
    }
    return this.reload();
  }

  /** Past half its lifetime: still served, reloaded in the background. */
  private ageing(loadedAt: number): boolean {
    return Date.now() - loadedAt >= this.ttlMs / 2;
  }

  private inBackground(what: string, reload: () => Promise<unknown>): void {
    this.background.runInAsyncScope(() => {
      reload().catch((err: Error) =>
        this.logger.warn(`Background reload of the ${what} failed: ${err.message}`),
      );
    });
  }

  /** Loaded within the cache lifetime (or at/after `since`) and after the last announced change. */
  private fresh(loadedAt: number, since = Date.now() - this.ttlMs): boolean {
    return loadedAt >= since && loadedAt > this.staleBefore;
  }

  /** The catalog as loaded at or after `since` (a cache miss on a name seen at that time). */
  async refreshOnMiss(since: number): Promise<Catalog> {
    if (this.catalog && this.fresh(this.catalog.loadedAt, since)) return this.catalog.value;
    if (this.loading && this.fresh(this.loading.startedAt, since)) return this.loading.promise;
    if (this.loading) await this.loading.promise.catch(() => undefined);
    return this.reload();
  }

  /** The team's groups; `since` demands data loaded at or after that time. */
  async groupsOf(teamId: string, since?: number): Promise<string[]> {
    const hit = this.teamGroups.get(teamId);
    if (hit && this.fresh(hit.loadedAt, since)) {
      if (since === undefined && this.ageing(hit.loadedAt) && !this.reloadingGroups.has(teamId)) {
        this.reloadingGroups.add(teamId);
        this.inBackground('team groups', () =>
          this.loadGroups(teamId).finally(() => this.reloadingGroups.delete(teamId)),
        );
      }
      return hit.value;
    }
    return this.loadGroups(teamId);
  }

  private async loadGroups(teamId: string): Promise<string[]> {
    const loadedAt = Date.now();
    const rows: Array<{ group_name: string }> = await this.db.query(
      'SELECT group_name FROM team_model_groups WHERE team_id = $1 ORDER BY created_at, group_name',
      [teamId],
    );
    if (this.teamGroups.size > 10_000) this.teamGroups.clear();
    const value = rows.map((r) => r.group_name);
    // a load that started before an announced change (or a newer load) does not replace it
    const current = this.teamGroups.get(teamId);
    if (loadedAt > this.staleBefore && (!current || current.loadedAt <= loadedAt)) {
      this.teamGroups.set(teamId, { value, loadedAt });
    }
    return value;
  }

  private reload(): Promise<Catalog> {
    if (this.loading && this.loading.startedAt > this.staleBefore) return this.loading.promise;
    const startedAt = Date.now();
    const promise: Promise<Catalog> = this.load()
      .then((value) => {
        if (!this.catalog || this.catalog.loadedAt <= startedAt) {
          this.catalog = { value, loadedAt: startedAt };
        }
        return value;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = null;
      });
    this.loading = { promise, startedAt };
    return promise;
  }

  private async load(): Promise<Catalog> {
    const [deployments, groups] = await Promise.all([
      this.db.query<DeploymentRow[]>(
        `SELECT d.model_id, d.model_name, d.provider, d.provider_model, d.api_base,
                d.input_price_per_million, d.output_price_per_million,
                d.cached_input_price_per_million, d.cache_write_price_per_million, d.weight, d.status,
                d.credential_id, c.api_key_encrypted, c.encryption_key_id,
                c.api_base AS credential_api_base, c.settings AS credential_settings,
                c.is_active AS credential_active,
                c.organization_id AS credential_org,
                extract(epoch FROM d.created_at)::int AS created
           FROM model_deployments d LEFT JOIN provider_credentials c ON c.credential_id = d.credential_id
          ORDER BY d.created_at, d.model_id`,
      ),
      this.db.query<Array<{ group_name: string; models: string[]; created: number }>>(
        'SELECT group_name, models, extract(epoch FROM created_at)::int AS created FROM model_groups',
      ),
    ]);
    const catalog: Catalog = {
      deployments: new Map(),
      groups: new Map(groups.map((g) => [g.group_name, g.models])),
      models: new Set(groups.flatMap((g) => g.models)),
      createdAt: new Map(groups.map((g) => [g.group_name, g.created])),
    };
    for (const row of deployments) {
      catalog.models.add(row.model_name);
      // deployments come oldest first: the first one of a name dates it (unless its group is older)
      const dated = catalog.createdAt.get(row.model_name);
      if (dated === undefined || row.created < dated)
        catalog.createdAt.set(row.model_name, row.created);
      const usable =
        row.status === 'active' && (row.credential_id === null || row.credential_active === true);
      if (!usable) continue;
      const deployment: Deployment = {
        modelId: row.model_id,
        modelName: row.model_name,
        provider: row.provider,
        providerModel: row.provider_model,
        apiBase: row.api_base ?? row.credential_api_base,
        inputPricePerMillion: Number(row.input_price_per_million),
        outputPricePerMillion: Number(row.output_price_per_million),
        cachedInputPricePerMillion: priceOrNull(row.cached_input_price_per_million),
        cacheWritePricePerMillion: priceOrNull(row.cache_write_price_per_million),
        weight: row.weight,
        credential:
          row.api_key_encrypted && row.encryption_key_id
            ? { ciphertext: row.api_key_encrypted, keyId: row.encryption_key_id }
            : null,
        organizationId: row.credential_org,
        settings: {
          ...(row.credential_settings?.api_version
            ? { apiVersion: row.credential_settings.api_version }
            : {}),
          ...(row.credential_settings?.region ? { region: row.credential_settings.region } : {}),
        },
      };
      catalog.deployments.set(row.model_name, [
        ...(catalog.deployments.get(row.model_name) ?? []),
        deployment,
      ]);
    }
    return catalog;
  }
}

const priceOrNull = (value: string | null) => (value === null ? null : Number(value));
