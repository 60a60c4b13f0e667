import { TollgateError } from '@app/http';
import type { Provider } from '@app/db';
import type { ProviderSettings } from '../providers/provider.types';

/** One active deployment of a model name, with what it takes to call it. */
export interface Deployment {
  modelId: string;
  modelName: string;
  provider: Provider;
  providerModel: string;
  apiBase: string | null;
  inputPricePerMillion: number;
  outputPricePerMillion: number;
  /** Prices of cached and cache-written prompt tokens; null = the input price. */
  cachedInputPricePerMillion: number | null;
  cacheWritePricePerMillion: number | null;
  weight: number;
  /** Sealed provider key (null: the deployment needs none). */
  credential: { ciphertext: string; keyId: string } | null;
  /** Organization owning the credential: only its teams may be served with it (null: shared). */
  organizationId: string | null;
  /** The credential's non-secret settings (api-version, region). */
  settings?: ProviderSettings;
}

export interface Catalog {
  /** Active deployments (credential active or none) by model name. */
  deployments: Map<string, Deployment[]>;
  /** Group name → model names in priority order. */
  groups: Map<string, string[]>;
  /** Every model name that exists: in a deployment (any status) or a group. */
  models: Set<string>;
  /** When each model or group name first appeared (its oldest deployment, or its group), Unix seconds. */
  createdAt: Map<string, number>;
}

export interface Access {
  teamGroups: string[];
  /** The key's allow-list of model or group names; empty = every model of the team. */
  keyModels: string[];
}

/** M is usable when one of the team's groups holds it and the key's allow-list (if any) admits it. */
export function canUse(catalog: Catalog, access: Access, model: string): boolean {
  const inTeam = access.teamGroups.some((g) => catalog.groups.get(g)?.includes(model));
  if (!inTeam) return false;
  if (access.keyModels.length === 0) return true;
  return access.keyModels.some(
    (allowed) => allowed === model || (catalog.groups.get(allowed)?.includes(model) ?? false),
  );
}

export function modelExists(catalog: Catalog, requested: string): boolean {
  return catalog.models.has(requested) || catalog.groups.has(requested);
}

/**
 * The model names a request may be served by, in priority order: a model name is itself, a group
 * name is its models. 404 when the name is unknown, 403 when none of it is allowed.
 */
export function resolveModels(catalog: Catalog, access: Access, requested: string): string[] {
  const models = catalog.models.has(requested) ? [requested] : catalog.groups.get(requested);
  if (!models) {
    throw new TollgateError('MODEL_NOT_FOUND', `Model '${requested}' not found`);
  }
  const usable = models.filter((m) => canUse(catalog, access, m));
  if (usable.length === 0) {
    throw new TollgateError(
      'MODEL_ACCESS_DENIED',
      'Team does not have access to the requested model',
    );
  }
  return usable;
}

/** Weighted random order without replacement: heavier deployments tend to come first. */
export function weightedOrder<T extends { weight: number }>(
  items: T[],
  random: () => number = Math.random,
): T[] {
  const pool = [...items];
  const order: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, d) => sum + Math.max(0, d.weight), 0);
    let pick = 0;
    if (total > 0) {
      let r = random() * total;
      pick = pool.findIndex((d) => (r -= Math.max(0, d.weight)) < 0);
      if (pick < 0) pick = pool.length - 1;
    }
    order.push(pool.splice(pick, 1)[0]);
  }
  return order;
}

/**
 * Every deployment to try, in order: each model's deployments by weight, then the next model.
 * With `organizationId`, deployments on another organization's credential are left out.
 */
export function planAttempts(
  catalog: Catalog,
  models: string[],
  random: () => number = Math.random,
  organizationId?: string,
): Deployment[] {
  const servable = (d: Deployment) =>
    organizationId === undefined ||
    d.organizationId === null ||
    d.organizationId === organizationId;
  const plan = models.flatMap((m) =>
    weightedOrder((catalog.deployments.get(m) ?? []).filter(servable), random),
  );
  if (plan.length === 0) {
    throw new TollgateError(
      'SERVICE_UNAVAILABLE',
      `No active deployment for model '${models.join("', '")}'`,
    );
  }
  return plan;
}

/** Every name `resolveModels` accepts for this access: usable model names, and groups holding one. */
export function usableNames(catalog: Catalog, access: Access): string[] {
  const names = [...catalog.models].filter((m) => canUse(catalog, access, m));
  for (const [group, models] of catalog.groups) {
    if (catalog.models.has(group)) continue; // a model name wins over a group of the same name
    if (models.some((m) => canUse(catalog, access, m))) names.push(group);
  }
  return names.sort();
}
