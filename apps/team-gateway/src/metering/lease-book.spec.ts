import fc from 'fast-check';
import type { BudgetSettings } from '@app/billing';
import { DEMAND_MEMORY_MS, free, LeaseBook, Reservation } from './lease-book';

const SETTINGS: BudgetSettings = {
  budgetMode: 'consumption_tokens',
  creditsPerDollar: 10,
  tokensPerCredit: 10,
  markupPercentage: 0,
};
/** Valid for the whole of these tests' time (they run at t = 0 … 10 ms). */
const VALID = 60_000;
const book = (minCallsPerSecond: number | null = 0, steadyCalls: number | null = null) =>
  new LeaseBook({
    minCallsPerSecond,
    steadyCalls,
    idleMs: 1000,
    leaseSeconds: 2,
    minCredits: 4,
    blockMs: 2000,
  });

describe('LeaseBook', () => {
  it('grants only to busy teams, and sizes the lease to their demand', () => {
    const b = book(10);
    const lease = b.touch('t', 0);
    expect(b.wanted(lease, 0)).toBeNull(); // one call a second is not busy
    for (let i = 1; i < 10; i++) b.touch('t', i);
    expect(b.wanted(lease, 10)).toEqual({ lease, credits: 20, keepFree: 20 });
    expect(book(null).wanted(book(null).touch('t', 0), 0)).toBeNull(); // leases off
  });

  it('remembers a busy team after its idle lease went back: its next burst asks at once', () => {
    const b = book(10);
    const lease = b.touch('t', 0);
    for (let i = 1; i < 30; i++) b.touch('t', i);
    b.granted(lease, 'L1', 60, SETTINGS, 0, VALID);
    expect(b.idle(5_000)).toEqual([lease]);
    b.close(lease);
    b.forget(lease);

    const next = b.touch('t', 20_000); // one call after a pause: no ramp of 10 exact calls
    expect(next).not.toBe(lease);
    expect(b.wanted(next, 20_000)).toEqual({ lease: next, credits: 60, keepFree: 60 });
    // the memory is used once; the real demand (one call) takes over when the window turns
    b.touch('t', 22_500);
    expect(b.wanted(next, 22_500)).toBeNull();

    const quiet = book(10); // a team that never was busy is not remembered
    const q = quiet.touch('q', 0);
    quiet.close(q);
    quiet.forget(q);
    expect(quiet.wanted(quiet.touch('q', 5_000), 5_000)).toBeNull();

    const old = book(10); // nor one whose burst is older than the memory
    const o = old.touch('o', 0);
    for (let i = 1; i < 30; i++) old.touch('o', i);
    old.close(o);
    old.forget(o);
    expect(old.wanted(old.touch('o', DEMAND_MEMORY_MS + 100), DEMAND_MEMORY_MS + 100)).toBeNull();
  });

  it('a steady team is leased from its second call within the idle period; a rare one never', () => {
    const b = book(20, 2);
    const lease = b.touch('t', 0);
    expect(b.wanted(lease, 0)).toBeNull(); // its first call: the exact path, no grant
    b.touch('t', 900); // one call a second is far from 20/s, but the second came within 1 s
    expect(b.wanted(lease, 900)).toEqual({ lease, credits: 4, keepFree: 4 });
    b.granted(lease, 'L1', 4, SETTINGS, 96, VALID);
    expect(b.reserve(lease, 1, 900)).not.toBeNull();

    const rare = book(20, 2);
    const r = rare.touch('r', 0);
    rare.touch('r', 1_001); // more than the idle period after the one before
    expect(rare.wanted(r, 1_001)).toBeNull();
    expect(rare.idle(1_001)).toEqual([]); // (it called just now)
    expect(rare.idle(2_001)).toEqual([r]); // its entry goes, granted or not
    rare.close(r);
    rare.forget(r);
    const again = rare.touch('r', 60_000);
    expect(again.streak).toBe(1);
    expect(rare.wanted(again, 60_000)).toBeNull();

    const off = book(20, null); // the steady rule off: only the rate counts
    const o = off.touch('o', 0);
    off.touch('o', 500);
    expect(off.wanted(o, 500)).toBeNull();
  });

  it('a released lease takes no reservation or grant and closes once its calls are written', () => {
    const b = book(0);
    const lease = b.touch('t', 0);
    b.granted(lease, 'L1', 10, SETTINGS, 90, VALID);
    const r = b.reserve(lease, 3, 0)!;
    expect(b.release('t')).toBe(lease);
    expect(b.reserve(lease, 1, 0)).toBeNull();
    expect(b.wanted(lease, 0)).toBeNull();
    expect(b.idle(1)).toEqual([]); // a call in flight
    expect(b.takeFree(lease)).toBe(7); // given back at once
    expect(b.settle(r, 2)).toBe(2);
    expect(b.idle(1)).toEqual([]); // its charge is not written yet
    b.flushed('L1', 2);
    expect(b.idle(1)).toEqual([lease]); // long before the idle period
    expect(b.release('unknown')).toBeUndefined();
  });

  it('a lease whose keys have all expired closes without waiting to be idle', () => {
    const b = book(0);
    const lease = b.touch('t', 0, 500);
    b.granted(lease, 'L1', 10, SETTINGS, 90, VALID);
    expect(b.idle(499)).toEqual([]);
    expect(b.idle(500)).toEqual([lease]);
    b.touch('t', 100, Infinity); // a key without expiry called too: only idleness closes it
    expect(b.idle(600)).toEqual([]);
    expect(b.idle(1_100)).toEqual([lease]);
  });

  it('reserves from the free part only, and caps a settle at what the lease holds', () => {
    const b = book();
    const lease = b.touch('t', 0);
    expect(b.reserve(lease, 1, 0)).toBeNull(); // nothing granted yet
    b.granted(lease, 'L1', 10, SETTINGS, 90, VALID);
    const r = b.reserve(lease, 6, 0)!;
    expect(b.reserve(lease, 5, 0)).toBeNull();
    expect(b.settle(r, 25)).toBe(10); // due more than reserved: takes the free 4 too, no more
    expect({ free: free(lease), pending: lease.pending }).toEqual({ free: 0, pending: 10 });
    b.flushed('L1', 10);
    expect({ granted: lease.granted, pending: lease.pending }).toEqual({ granted: 0, pending: 0 });
  });

  it('a lost lease charges at most the reservation and is replaced by the next grant', () => {
    const b = book();
    const lease = b.touch('t', 0);
    b.granted(lease, 'L1', 10, SETTINGS, 0, VALID);
    const r = b.reserve(lease, 3, 0)!;
    b.lost('L1');
    expect(b.reserve(lease, 1, 0)).toBeNull();
    expect(b.settle(r, 9)).toBe(3);
    const next = b.granted(lease, 'L2', 5, SETTINGS, 0, VALID);
    expect(next).not.toBe(lease);
    expect(next.granted).toBe(5);
    expect(b.find('L2')).toBe(next);
  });

  it('a lease that could not be renewed is not spent past its validity, and a renewal extends it', () => {
    const b = book();
    const lease = b.touch('t', 0);
    b.granted(lease, 'L1', 10, SETTINGS, 0, 5_000);
    expect(b.reserve(lease, 1, 4_999)).not.toBeNull();
    expect(b.reserve(lease, 1, 5_000)).toBeNull(); // Postgres may have let it lapse
    b.renewed('L1', 9_000);
    expect(b.reserve(lease, 1, 8_000)).not.toBeNull();
    b.renewed('L1', 7_000); // a late answer never shortens it
    expect(lease.validUntil).toBe(9_000);
  });

  /**
   * Random interleavings of grant / reserve / settle / flush / give back / lose: the lease never
   * promises more than Postgres holds for it, and nothing is charged twice or out of thin air.
   */
  it('keeps its books against a model of Postgres under any interleaving', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ kind: fc.constant('reserve' as const), credits: fc.integer({ min: 1, max: 6 }) }),
      fc.record({
        kind: fc.constant('settle' as const),
        pick: fc.nat(),
        due: fc.integer({ min: 0, max: 12 }),
      }),
      fc.record({ kind: fc.constant('flush' as const) }),
      fc.record({ kind: fc.constant('giveBack' as const) }),
      fc.record({ kind: fc.constant('lose' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const b = book();
        let lease = b.touch('t', 0);
        let seq = 0;
        const pg = new Map<string, number>(); // lease id → credits Postgres holds for it
        const journal: Array<{ leaseId: string; charge: number }> = [];
        const open: Reservation[] = [];
        for (const o of ops) {
          switch (o.kind) {
            case 'grant': {
              const id = lease.leaseId && !lease.dead ? lease.leaseId : `L${++seq}`;
              pg.set(id, (pg.get(id) ?? 0) + o.credits);
              lease = b.granted(lease, id, o.credits, SETTINGS, 0, VALID);
              break;
            }
            case 'reserve': {
              const r = b.reserve(lease, o.credits, 0);
              if (r) open.push(r);
              break;
            }
            case 'settle': {
              if (open.length === 0) break;
              const [r] = open.splice(o.pick % open.length, 1);
              const id = r.lease.leaseId;
              const charge = b.settle(r, o.due);
              expect(charge).toBeLessThanOrEqual(o.due);
              if (id && !r.lease.dead) journal.push({ leaseId: id, charge });
              break;
            }
            case 'flush':
              for (const e of journal.splice(0)) {
                const held = pg.get(e.leaseId);
                if (held === undefined) continue; // lost: written against the balance instead
                expect(held).toBeGreaterThanOrEqual(e.charge); // never short
                pg.set(e.leaseId, held - e.charge);
                b.flushed(e.leaseId, e.charge);
              }
              break;
            case 'giveBack': {
              const credits = b.takeFree(lease);
              if (credits > 0 && lease.leaseId)
                pg.set(lease.leaseId, pg.get(lease.leaseId)! - credits);
              break;
            }
            case 'lose':
              if (lease.leaseId && !lease.dead) {
                pg.delete(lease.leaseId);
                journal.splice(
                  0,
                  journal.length,
                  ...journal.filter((e) => e.leaseId !== lease.leaseId),
                );
                b.lost(lease.leaseId);
              }
              break;
          }
          for (const l of b.leases()) {
            if (l.dead || !l.leaseId) continue;
            expect(free(l)).toBeGreaterThanOrEqual(0);
            expect(l.pending).toBeGreaterThanOrEqual(0);
            // what the replica believes the lease holds is what Postgres holds for it
            expect(l.granted).toBe(pg.get(l.leaseId));
          }
        }
        const live = b.leases().filter((l) => !l.dead);
        expect(live.reduce((s, l) => s + l.reserved, 0)).toBe(
          open.filter((r) => !r.lease.dead).reduce((s, r) => s + r.credits, 0),
        );
      }),
      { numRuns: 500 },
    );
  });
});
