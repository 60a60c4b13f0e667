import { DeploymentHealth } from './deployment-health';
import type { Deployment } from './resolver';

const dep = (modelName: string, modelId: string): Deployment => ({
  modelId,
  modelName,
  provider: 'mock',
  providerModel: modelId,
  apiBase: null,
  inputPricePerMillion: 1,
  outputPricePerMillion: 1,
  cachedInputPricePerMillion: null,
  cacheWritePricePerMillion: null,
  weight: 1,
  credential: null,
  organizationId: null,
});

describe('deployment health', () => {
  const plan = [dep('first', 'a1'), dep('first', 'a2'), dep('second', 'b1')];
  const ids = (ds: Deployment[]) => ds.map((d) => d.modelId);

  it('keeps the plan as it is while everything is healthy', () => {
    expect(ids(new DeploymentHealth().order(plan))).toEqual(['a1', 'a2', 'b1']);
  });

  it('moves a deployment that failed behind the healthy ones until its cooldown ends', () => {
    const health = new DeploymentHealth(1000);
    health.failed('a1', 0);
    health.failed('a2', 0);
    expect(ids(health.order(plan, 500))).toEqual(['b1', 'a1', 'a2']);
    expect(ids(health.order(plan, 1500))).toEqual(['a1', 'a2', 'b1']);
  });

  it('a success ends the cooldown at once', () => {
    const health = new DeploymentHealth(1000);
    health.failed('a1', 0);
    health.succeeded('a1');
    expect(health.isCooling('a1', 10)).toBe(false);
  });

  it("cools a deployment for the provider's Retry-After when it sent one", () => {
    const health = new DeploymentHealth(30_000);
    health.failed('a1', 0, 2_000);
    expect(health.isCooling('a1', 1_999)).toBe(true);
    expect(health.isCooling('a1', 2_001)).toBe(false);
    health.failed('a2', 0, 86_400_000); // a day: capped at 5 minutes
    expect(health.isCooling('a2', 300_001)).toBe(false);
  });
});
