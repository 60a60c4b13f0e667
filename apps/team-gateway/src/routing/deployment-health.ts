import type { Deployment } from './resolver';

/** How long a deployment that failed retryably is tried last (per gateway replica). */
export const COOLDOWN_MS = 30_000;
const MAX_TRACKED = 10_000;
/** A provider's Retry-After is honoured up to this long. */
const MAX_COOLDOWN_MS = 300_000;

/**
 * Which deployments failed recently (429, 5xx, timeout, connection error). A cooling deployment
 * is not skipped, only moved behind the healthy ones, so a group's request goes straight to its
 * first model whose deployments are healthy (SPEC §4) and a dead deployment costs one failed
 * attempt per cooldown instead of one per request. Local to the replica: each learns by itself.
 */
export class DeploymentHealth {
  private readonly coolingUntil = new Map<string, number>();

  constructor(private readonly cooldownMs = COOLDOWN_MS) {}

  /** `retryAfterMs`: the provider's own Retry-After, which replaces the default cooldown. */
  failed(modelId: string, now = Date.now(), retryAfterMs?: number): void {
    if (this.coolingUntil.size >= MAX_TRACKED) this.coolingUntil.clear();
    const cooldown =
      retryAfterMs === undefined ? this.cooldownMs : Math.min(retryAfterMs, MAX_COOLDOWN_MS);
    this.coolingUntil.set(modelId, now + cooldown);
  }

  succeeded(modelId: string): void {
    this.coolingUntil.delete(modelId);
  }

  isCooling(modelId: string, now = Date.now()): boolean {
    const until = this.coolingUntil.get(modelId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.coolingUntil.delete(modelId);
    return false;
  }

  /** The plan with healthy deployments first, each part in its original order. */
  order(plan: Deployment[], now = Date.now()): Deployment[] {
    const healthy = plan.filter((d) => !this.isCooling(d.modelId, now));
    if (healthy.length === plan.length) return plan;
    return [...healthy, ...plan.filter((d) => this.isCooling(d.modelId, now))];
  }
}
