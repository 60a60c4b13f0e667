import { Catalog, resolveModels, usableNames } from './resolver';

const catalog: Catalog = {
  deployments: new Map(),
  groups: new Map([
    ['fast', ['a', 'b']],
    ['premium', ['c']],
    ['mixed', ['b', 'c']],
    ['b', ['c']], // a group named like a model: the model wins
  ]),
  models: new Set(['a', 'b', 'c', 'ghost']),
  createdAt: new Map(),
};

describe('usableNames', () => {
  it('lists the team models and every group holding one of them', () => {
    expect(usableNames(catalog, { teamGroups: ['fast'], keyModels: [] })).toEqual([
      'a',
      'b',
      'fast',
      'mixed',
    ]);
  });

  it('narrows to the key allow-list (model or group names)', () => {
    expect(usableNames(catalog, { teamGroups: ['fast'], keyModels: ['a'] })).toEqual(['a', 'fast']);
    expect(
      usableNames(catalog, { teamGroups: ['fast', 'premium'], keyModels: ['premium'] }),
    ).toEqual(['c', 'mixed', 'premium']);
    expect(usableNames(catalog, { teamGroups: [], keyModels: ['a'] })).toEqual([]);
  });

  it('lists exactly the names resolution accepts', () => {
    const names = [...catalog.models, ...catalog.groups.keys(), 'nope'];
    for (const access of [
      { teamGroups: ['fast'], keyModels: [] },
      { teamGroups: ['premium'], keyModels: [] },
      { teamGroups: ['fast', 'premium'], keyModels: ['b', 'premium'] },
    ]) {
      const accepted = names.filter((n) => {
        try {
          resolveModels(catalog, access, n);
          return true;
        } catch {
          return false;
        }
      });
      expect(usableNames(catalog, access)).toEqual([...new Set(accepted)].sort());
    }
  });
});
