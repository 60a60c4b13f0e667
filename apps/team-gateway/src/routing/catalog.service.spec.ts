import type { DataSource } from 'typeorm';
import type { CatalogEvents } from '@app/cache';
import { CatalogService } from './catalog.service';

/**
 * The catalog's cache policy, against a database double that counts and answers the catalog's
 * three queries (the queries themselves run against Postgres in every routing e2e spec).
 */
describe('CatalogService cache policy', () => {
  const TTL = 5_000; // with announcements reaching the process (Redis)
  let now: number;
  let queries: string[];
  let groupName: string;
  /** While set, queries wait for it. */
  let gate: Promise<void> | null;
  let announce: () => void;
  let service: CatalogService;

  beforeEach(async () => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    queries = [];
    groupName = 'g1';
    gate = null;
    const db = {
      query: async (sql: string) => {
        queries.push(
          sql.includes('team_model_groups')
            ? 'team'
            : sql.includes('model_groups')
              ? 'groups'
              : 'deployments',
        );
        await gate;
        if (sql.includes('team_model_groups')) return [{ group_name: groupName }];
        if (sql.includes('model_groups'))
          return [{ group_name: groupName, models: ['m'], created: 1 }];
        return [];
      },
    } as unknown as DataSource;
    const events = {
      reachOtherProcesses: true,
      onChange: (handler: () => void) => {
        announce = handler;
        return Promise.resolve();
      },
    } as unknown as CatalogEvents;
    service = new CatalogService(db, events);
    await service.onModuleInit();
  });
  afterEach(() => jest.restoreAllMocks());

  const flush = () => new Promise((resolve) => setImmediate(resolve));
  const catalogLoads = () => queries.filter((q) => q === 'deployments').length;

  it('serves data younger than half its lifetime without a query', async () => {
    await service.get();
    now += TTL / 2 - 1;
    await service.get();
    expect(catalogLoads()).toBe(1);
  });

  it('past half its lifetime: answers at once from what it has and reloads once in the background', async () => {
    const first = await service.get();
    now += TTL / 2;
    groupName = 'g2';
    let open = (): void => undefined;
    gate = new Promise<void>((resolve) => (open = resolve)); // the next load waits for open()
    const served = await service.get();
    expect(served).toBe(first); // not waiting for the reload in flight
    await service.get();
    expect(catalogLoads()).toBe(2); // one reload, shared
    open();
    await flush();
    gate = null;
    expect([...(await service.get()).groups.keys()]).toEqual(['g2']);
    expect(catalogLoads()).toBe(2);
  });

  it('past its lifetime, or after an announced change, a request waits for fresh data', async () => {
    await service.get();
    now += TTL + 1;
    groupName = 'g2';
    expect([...(await service.get()).groups.keys()]).toEqual(['g2']);
    groupName = 'g3';
    announce();
    expect([...(await service.get()).groups.keys()]).toEqual(['g3']);
    expect(catalogLoads()).toBe(3);
  });

  it("a team's groups: the same policy, and a demand for data after a time is never served older", async () => {
    expect(await service.groupsOf('t')).toEqual(['g1']);
    now += TTL / 2;
    groupName = 'g2';
    expect(await service.groupsOf('t')).toEqual(['g1']); // answered at once, reload started
    await flush();
    expect(await service.groupsOf('t')).toEqual(['g2']);
    groupName = 'g3';
    now += 1;
    expect(await service.groupsOf('t', now)).toEqual(['g3']); // loaded at/after `now`
    announce();
    groupName = 'g4';
    expect(await service.groupsOf('t')).toEqual(['g4']);
  });
});
