import type { BudgetSettings } from '@app/billing';

/**
 * One team's credit lease on this replica. Postgres holds `granted` credits for it (inside the
 * team's credits_held); of those, `pending` are charged by settled calls the journal has not
 * written yet and `reserved` are held by calls in flight; the rest is free to reserve.
 */
export interface TeamLease {
  teamId: string;
  /** null until the first grant lands. */
  leaseId: string | null;
  granted: number;
  pending: number;
  reserved: number;
  settings: BudgetSettings | null;
  /** The team's credits_remaining outside leases, as of the last grant. */
  teamRemaining: number;
  /** Being given back: no new reservations. */
  closing: boolean;
  /**
   * To be given back whole on an admin change (suspension, deletion, a key revoked, budget
   * settings): no reservation or grant any more; closed once its calls are settled and written.
   */
  released: boolean;
  /** Gone from Postgres (expired and swept): charges of its calls come from the balance. */
  dead: boolean;
  /**
   * No reservation from this time on (local clock, ms): the lease's validity as of its last grant
   * or renewal, less a margin. Postgres may release a lease that was not renewed (an outage), so
   * a replica that cannot renew stops spending it on its own.
   */
  validUntil: number;
  refilling: boolean;
  /** No grant before this time (refused for want of credits, or recalled). */
  blockedUntil: number;
  /** Demand: calls in the current one-second window, and in the one before. */
  windowStart: number;
  windowCalls: number;
  previousCalls: number;
  /** Mean credits a reservation took (the lease is sized in calls × this). */
  meanCredits: number;
  lastUsedAt: number;
  /** Calls in a row on this replica, each within `idleMs` of the one before (the steady rule). */
  streak: number;
  /**
   * The latest end of validity (expiry or rotation grace, local clock) among the keys that called
   * on this lease; Infinity once a key without one did. Past it no key that used the lease can
   * call any more: it is given back without waiting to be idle.
   */
  keysUntil: number;
}

export interface Reservation {
  lease: TeamLease;
  credits: number;
}

export interface GrantWanted {
  lease: TeamLease;
  credits: number;
  /** What must stay unleased of the team's balance after the grant (the other replicas' share). */
  keepFree: number;
}

export interface LeaseBookOptions {
  /** null = leases off; 0 = every team; else a team at this many calls/s is leased. */
  minCallsPerSecond: number | null;
  /**
   * A team that made this many calls in a row, each within `idleMs` of the one before, is leased
   * too (a steady team, whatever its rate); null = only `minCallsPerSecond`.
   */
  steadyCalls: number | null;
  /** A lease unused this long is given back; the longest gap between a steady team's calls. */
  idleMs: number;
  /** A lease covers this many seconds of the team's spend on this replica. */
  leaseSeconds: number;
  /** The smallest lease, in credits. */
  minCredits: number;
  /** How long a refused or recalled team is served by exact holds before the next grant. */
  blockMs: number;
}

export const free = (lease: TeamLease) => lease.granted - lease.pending - lease.reserved;

/**
 * How long a team's demand is remembered once its lease went back idle: the first call of its
 * next burst asks for a lease at once, instead of ramping through `minCallsPerSecond` calls held
 * exactly in Postgres (a bursty team would otherwise pay that ramp after every pause).
 */
export const DEMAND_MEMORY_MS = 60_000;
/** Teams whose demand is remembered at most (the oldest are dropped first). */
const DEMAND_MEMORY_TEAMS = 10_000;

/**
 * The replica's leases, in memory and synchronous: reserving from and settling into a lease cost
 * no I/O. What needs Postgres (grant, give back) is decided here and done by LeasesService.
 */
export class LeaseBook {
  private readonly teams = new Map<string, TeamLease>();
  private readonly byId = new Map<string, TeamLease>();
  /** Calls per second of teams whose lease was given back idle, and when they last called. */
  private readonly recentDemand = new Map<string, { rate: number; at: number }>();

  constructor(private readonly options: LeaseBookOptions) {}

  get enabled(): boolean {
    return this.options.minCallsPerSecond !== null;
  }

  leases(): TeamLease[] {
    return [...this.teams.values()];
  }

  find(leaseId: string): TeamLease | undefined {
    return this.byId.get(leaseId);
  }

  /**
   * Counts one call's demand for the team; the lease (created empty on first sight). `keyUntil`:
   * when the calling key stops being valid (Infinity = never).
   */
  touch(teamId: string, now: number, keyUntil = Infinity): TeamLease {
    let lease = this.teams.get(teamId);
    if (lease) {
      lease.streak = now - lease.lastUsedAt <= this.options.idleMs ? lease.streak + 1 : 1;
    } else {
      lease = emptyLease(teamId, now);
      const recent = this.recentDemand.get(teamId);
      if (recent) {
        this.recentDemand.delete(teamId);
        // counts as the window before this one: the real demand replaces it within 2 s
        if (now - recent.at < DEMAND_MEMORY_MS) lease.previousCalls = recent.rate;
      }
      this.teams.set(teamId, lease);
    }
    if (now - lease.windowStart >= 1000) {
      lease.previousCalls = now - lease.windowStart >= 2000 ? 0 : lease.windowCalls;
      lease.windowStart = now;
      lease.windowCalls = 0;
    }
    lease.windowCalls += 1;
    lease.lastUsedAt = now;
    lease.keysUntil = Math.max(lease.keysUntil, keyUntil);
    return lease;
  }

  /** Takes `credits` from the lease's free part, or null (the caller holds in Postgres). */
  reserve(lease: TeamLease, credits: number, now: number): Reservation | null {
    if (!lease.leaseId || lease.closing || lease.released || lease.dead) return null;
    if (credits > free(lease)) return null;
    if (now >= lease.validUntil) return null;
    lease.reserved += credits;
    lease.meanCredits = lease.meanCredits * 0.9 + credits * 0.1;
    return { lease, credits };
  }

  /**
   * Settles a reservation: the charge is what is due, capped at the reservation plus the lease's
   * free part (never more than Postgres holds for it). Returns the charge.
   */
  settle(reservation: Reservation, due: number): number {
    const { lease, credits } = reservation;
    lease.reserved -= credits;
    // released, the reservation is part of the free credits again
    const cap = lease.dead ? credits : Math.max(0, free(lease));
    const charge = Math.max(0, Math.min(Math.floor(due), cap));
    if (!lease.dead) lease.pending += charge;
    return charge;
  }

  /** The journal wrote `credits` of this lease's charges to Postgres. */
  flushed(leaseId: string, credits: number): void {
    const lease = this.byId.get(leaseId);
    if (!lease || lease.dead) return;
    lease.pending -= credits;
    lease.granted -= credits;
  }

  /**
   * The grant the team needs now, or null: neither busy nor steady, blocked, released, or enough
   * free already.
   */
  wanted(lease: TeamLease, now: number): GrantWanted | null {
    const { minCallsPerSecond, steadyCalls } = this.options;
    if (minCallsPerSecond === null || lease.refilling || lease.closing) return null;
    if (lease.released || now < lease.blockedUntil) return null;
    const rate = Math.max(lease.windowCalls, lease.previousCalls);
    const steady = steadyCalls !== null && lease.streak >= steadyCalls;
    if (rate < minCallsPerSecond && !steady) return null;
    const target = Math.max(
      this.options.minCredits,
      Math.ceil(rate * this.options.leaseSeconds * Math.max(1, lease.meanCredits)),
    );
    const available = lease.dead ? 0 : free(lease);
    if (available >= target / 2) return null;
    return { lease, credits: target - available, keepFree: target };
  }

  /** A grant landed: `credits` were added to lease `leaseId`, which now holds `total`. */
  granted(
    lease: TeamLease,
    leaseId: string,
    credits: number,
    settings: BudgetSettings,
    teamRemaining: number,
    validUntil: number,
  ): TeamLease {
    const current = lease.dead ? this.replace(lease) : lease;
    if (current.leaseId && current.leaseId !== leaseId) this.byId.delete(current.leaseId);
    current.leaseId = leaseId;
    current.validUntil = validUntil;
    current.granted += credits;
    current.settings = settings;
    current.teamRemaining = teamRemaining;
    current.refilling = false;
    this.byId.set(leaseId, current);
    return current;
  }

  /** Postgres renewed the lease: valid until `validUntil` (local clock, margin included). */
  renewed(leaseId: string, validUntil: number): void {
    const lease = this.byId.get(leaseId);
    if (lease && !lease.dead) lease.validUntil = Math.max(lease.validUntil, validUntil);
  }

  /** No grant for a while: the team's balance cannot spare a lease (or was recalled). */
  block(lease: TeamLease, now: number): void {
    lease.blockedUntil = now + this.options.blockMs;
  }

  /** The lease is gone from Postgres: its in-flight calls settle against the balance. */
  lost(leaseId: string): void {
    const lease = this.byId.get(leaseId);
    if (!lease) return;
    lease.dead = true;
    lease.granted = 0;
    lease.pending = 0;
    this.byId.delete(leaseId);
  }

  /**
   * Takes the free part out of the lease to give back (recall, or shrinking): no call can
   * reserve it meanwhile. Returns the credits to give back (0 = nothing).
   */
  takeFree(lease: TeamLease): number {
    if (!lease.leaseId || lease.dead) return 0;
    const credits = Math.max(0, free(lease));
    lease.granted -= credits;
    return credits;
  }

  /**
   * Leases to close, with nothing in flight or pending: released, unused for `idleMs`, or no key
   * that used them is valid any more.
   */
  idle(now: number): TeamLease[] {
    return this.leases().filter(
      (l) =>
        !l.closing &&
        !l.refilling &&
        l.reserved === 0 &&
        l.pending === 0 &&
        (l.released || now - l.lastUsedAt >= this.options.idleMs || now >= l.keysUntil),
    );
  }

  /**
   * An admin change (suspension, deletion, a key revoked, budget settings): the team's lease
   * takes no reservation or grant any more and is closed once its calls are written; the next
   * call after that starts a new one (with the team's settings as they are then). Returns it.
   */
  release(teamId: string): TeamLease | undefined {
    const lease = this.teams.get(teamId);
    if (lease) lease.released = true;
    return lease;
  }

  /** Closes a lease: no reservation from now on; `forget` drops it once given back. */
  close(lease: TeamLease): void {
    lease.closing = true;
  }

  forget(lease: TeamLease): void {
    if (this.teams.get(lease.teamId) === lease) {
      this.teams.delete(lease.teamId);
      this.remember(lease);
    }
    if (lease.leaseId) this.byId.delete(lease.leaseId);
  }

  private remember(lease: TeamLease): void {
    const rate = Math.max(lease.windowCalls, lease.previousCalls);
    if (this.options.minCallsPerSecond === null || rate < this.options.minCallsPerSecond) return;
    if (this.recentDemand.size >= DEMAND_MEMORY_TEAMS) {
      const oldest = this.recentDemand.keys().next().value;
      if (oldest !== undefined) this.recentDemand.delete(oldest);
    }
    this.recentDemand.set(lease.teamId, { rate, at: lease.lastUsedAt });
  }

  /** A fresh lease object for the team, keeping its demand; the old one stays with its calls. */
  private replace(old: TeamLease): TeamLease {
    const lease = Object.assign({}, emptyLease(old.teamId, old.lastUsedAt), {
      windowStart: old.windowStart,
    });
    lease.windowCalls = old.windowCalls;
    lease.previousCalls = old.previousCalls;
    lease.meanCredits = old.meanCredits;
    lease.refilling = old.refilling;
    lease.released = old.released;
    lease.streak = old.streak;
    lease.keysUntil = old.keysUntil;
    this.teams.set(old.teamId, lease);
    return lease;
  }
}

function emptyLease(teamId: string, now: number): TeamLease {
  return {
    teamId,
    leaseId: null,
    granted: 0,
    pending: 0,
    reserved: 0,
    settings: null,
    teamRemaining: 0,
    closing: false,
    released: false,
    dead: false,
    validUntil: 0,
    refilling: false,
    blockedUntil: 0,
    windowStart: now,
    windowCalls: 0,
    previousCalls: 0,
    meanCredits: 1,
    lastUsedAt: now,
    streak: 1,
    keysUntil: -Infinity,
  };
}
