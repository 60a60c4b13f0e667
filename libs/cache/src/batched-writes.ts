import type { AsyncResource } from 'node:async_hooks';

export interface BatchedWritesOptions<T> {
  /** How long the first item added waits for others to share its write. */
  delayMs: number;
  /** Written at once when this many are due (no limit when unset). */
  maxItems?: number;
  /** The async scope the writes run in: a background one, not the request that added an item. */
  scope: AsyncResource;
  /** Writes the items; logs its own failures (a rejection is dropped). */
  write: (items: T[]) => Promise<unknown>;
}

/**
 * Background writes that share one round trip: the first item added starts a timer of `delayMs`,
 * and everything added until it fires (or until `now()`) goes out in one `write`. Nobody waits on
 * a write but `settled()` (a service closing).
 */
export class BatchedWrites<T> {
  private due: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: BatchedWritesOptions<T>) {}

  /** The items added and not written yet. */
  get pending(): readonly T[] {
    return this.due;
  }

  add(...items: T[]): void {
    this.due.push(...items);
    const { maxItems, delayMs, scope } = this.options;
    if (maxItems !== undefined && this.due.length >= maxItems) this.now();
    else if (this.due.length > 0 && !this.timer) {
      this.timer = scope.runInAsyncScope(() => setTimeout(() => this.now(), delayMs).unref());
    }
  }

  /** Writes what is due now (in the caller's event-loop turn, so it can share a pipeline). */
  now(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.due.length === 0) return;
    const items = this.due;
    this.due = [];
    const write = this.options.scope
      .runInAsyncScope(() => this.options.write(items))
      .then(
        () => undefined,
        () => undefined,
      );
    this.writes = this.writes.then(() => write);
  }

  /** Resolves once every write started so far has ended. */
  settled(): Promise<void> {
    return this.writes;
  }
}
