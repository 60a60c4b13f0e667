import { TollgateError } from '@app/http';
import {
  Access,
  canUse,
  Catalog,
  Deployment,
  planAttempts,
  resolveModels,
  weightedOrder,
} from './resolver';

const dep = (modelName: string, modelId: string, weight = 1): Deployment => ({
  modelId,
  modelName,
  provider: 'mock',
  providerModel: modelId,
  apiBase: null,
  inputPricePerMillion: 1,
  outputPricePerMillion: 2,
  cachedInputPricePerMillion: null,
  cacheWritePricePerMillion: null,
  weight,
  credential: null,
  organizationId: null,
});

const catalog: Catalog = {
  deployments: new Map([
    ['gpt-a', [dep('gpt-a', 'a1'), dep('gpt-a', 'a2')]],
    ['gpt-b', [dep('gpt-b', 'b1')]],
    ['claude', [dep('claude', 'c1')]],
  ]),
  groups: new Map([
    ['fast', ['gpt-b', 'gpt-a']],
    ['premium', ['claude']],
  ]),
  models: new Set(['gpt-a', 'gpt-b', 'claude', 'ghost']),
  createdAt: new Map(),
};

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as TollgateError).code;
  }
  return 'no error';
};

describe('model access', () => {
  const team: Access = { teamGroups: ['fast'], keyModels: [] };

  it('allows the models of the team groups, nothing else', () => {
    expect(canUse(catalog, team, 'gpt-a')).toBe(true);
    expect(canUse(catalog, team, 'claude')).toBe(false);
  });

  it('narrows to the key allow-list; a group name in it allows its models', () => {
    expect(canUse(catalog, { ...team, keyModels: ['gpt-b'] }, 'gpt-a')).toBe(false);
    expect(canUse(catalog, { ...team, keyModels: ['gpt-b'] }, 'gpt-b')).toBe(true);
    expect(canUse(catalog, { ...team, keyModels: ['fast'] }, 'gpt-a')).toBe(true);
    // the allow-list cannot widen what the team holds
    expect(canUse(catalog, { ...team, keyModels: ['premium'] }, 'claude')).toBe(false);
  });

  it('resolves a model name to itself and a group to its allowed models in order', () => {
    expect(resolveModels(catalog, team, 'gpt-a')).toEqual(['gpt-a']);
    expect(resolveModels(catalog, team, 'fast')).toEqual(['gpt-b', 'gpt-a']);
    expect(resolveModels(catalog, { ...team, keyModels: ['gpt-a'] }, 'fast')).toEqual(['gpt-a']);
  });

  it('404s unknown names and 403s known but denied ones', () => {
    expect(code(() => resolveModels(catalog, team, 'nope'))).toBe('MODEL_NOT_FOUND');
    expect(code(() => resolveModels(catalog, team, 'claude'))).toBe('MODEL_ACCESS_DENIED');
    expect(code(() => resolveModels(catalog, team, 'premium'))).toBe('MODEL_ACCESS_DENIED');
  });

  it('a known model with no active deployment is unavailable, not missing', () => {
    expect(code(() => planAttempts(catalog, ['ghost']))).toBe('SERVICE_UNAVAILABLE');
  });
});

describe('credential ownership', () => {
  it("serves a team only with shared credentials or its own organization's", () => {
    const owned = { ...dep('m', 'acme-key'), organizationId: 'acme' };
    const other = { ...dep('m', 'globex-key'), organizationId: 'globex' };
    const shared = dep('m', 'shared-key');
    const c: Catalog = { ...catalog, deployments: new Map([['m', [owned, other, shared]]]) };
    const ids = (org?: string) =>
      planAttempts(c, ['m'], Math.random, org)
        .map((d) => d.modelId)
        .sort();
    expect(ids('acme')).toEqual(['acme-key', 'shared-key']);
    expect(ids('initech')).toEqual(['shared-key']);
    const onlyOther: Catalog = { ...catalog, deployments: new Map([['m', [other]]]) };
    expect(code(() => planAttempts(onlyOther, ['m'], Math.random, 'acme'))).toBe(
      'SERVICE_UNAVAILABLE',
    );
  });
});

describe('load balancing', () => {
  it('puts every deployment in the plan, model by model in group order', () => {
    const plan = planAttempts(catalog, ['gpt-b', 'gpt-a']).map((d) => d.modelId);
    expect(plan[0]).toBe('b1');
    expect(plan.slice(1).sort()).toEqual(['a1', 'a2']);
  });

  it('picks first in proportion to weight', () => {
    const items = [dep('m', 'heavy', 3), dep('m', 'light', 1)];
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const firsts = { heavy: 0, light: 0 };
    for (let i = 0; i < 4000; i++) {
      const first = weightedOrder(items, random)[0].modelId as 'heavy' | 'light';
      firsts[first] += 1;
    }
    expect(firsts.heavy / 4000).toBeGreaterThan(0.7);
    expect(firsts.heavy / 4000).toBeLessThan(0.8);
  });

  it('never picks a zero-weight deployment first while another has weight', () => {
    const items = [dep('m', 'off', 0), dep('m', 'on', 1)];
    for (let i = 0; i < 100; i++) expect(weightedOrder(items)[0].modelId).toBe('on');
  });
});
