import { Logger } from '@nestjs/common';

/** How long closing the app waits, at most, for cut calls to write their billing. */
const SETTLE_WAIT_MS = 10_000;

/**
 * One call's place in the drain. Not an AbortController: a plain object the drain calls back,
 * so a call costs no abort signal of its own (every ticket is cut at the same moment, and the
 * one signal a call's upstream request needs is `UpstreamSignal`'s, which follows this ticket).
 */
export class DrainTicket {
  private cutListeners: Array<() => void> | null = null;
  private isCut = false;

  constructor(private readonly drain: CallDrain) {}

  /** Whether the shutdown deadline cut this call (stop waiting on the upstream, record, settle). */
  get cut(): boolean {
    return this.isCut;
  }

  /** Runs `listener` once when the call is cut (at once if it was): it goes with the ticket. */
  onCut(listener: () => void): void {
    if (this.isCut) listener();
    else (this.cutListeners ??= []).push(listener);
  }

  /** Takes back a listener of `onCut` that has not run (a stream done before the deadline). */
  offCut(listener: () => void): void {
    const at = this.cutListeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.cutListeners?.splice(at, 1);
  }

  /** The call is settled (safe to call more than once; bound, so it can be passed as is). */
  readonly leave = (): void => this.drain.left(this);

  /** @internal by the drain */
  cutNow(): void {
    if (this.isCut) return;
    this.isCut = true;
    const listeners = this.cutListeners;
    this.cutListeners = null;
    listeners?.forEach((listener) => listener());
  }
}

/**
 * The LLM calls in flight, streamed or not, for graceful shutdown. Each one holds credits until
 * it is settled; at the shutdown deadline every one is cut (upstream request aborted, what it got
 * recorded, hold settled), and the app's pools close only once they are all settled.
 */
export class CallDrain {
  private readonly logger = new Logger('Shutdown');
  private readonly running = new Set<DrainTicket>();
  private readonly idle: Array<() => void> = [];
  private isCut = false;

  constructor(deadline: AbortSignal) {
    if (deadline.aborted) this.cut();
    else deadline.addEventListener('abort', () => this.cut(), { once: true });
  }

  get size(): number {
    return this.running.size;
  }

  enter(): DrainTicket {
    const ticket = new DrainTicket(this);
    if (this.isCut) ticket.cutNow();
    this.running.add(ticket);
    return ticket;
  }

  /** @internal `DrainTicket.leave` */
  left(ticket: DrainTicket): void {
    if (this.running.delete(ticket) && this.running.size === 0) {
      this.idle.splice(0).forEach((resolve) => resolve());
    }
  }

  /** Counts `work` as in flight until it ends. */
  track<T>(work: Promise<T>): Promise<T> {
    const { leave } = this.enter();
    work.then(leave, leave);
    return work;
  }

  /** Cuts every call in flight, and every call that starts from now on. */
  cut(): void {
    this.isCut = true;
    for (const ticket of this.running) ticket.cutNow();
  }

  /**
   * Called when the app closes, after the HTTP drain: what still runs has no one waiting for it
   * (its client left) or is past the deadline, so it is cut, and its billing awaited.
   */
  async close(): Promise<void> {
    if (this.running.size === 0) return;
    this.logger.log(`Cutting ${this.running.size} call(s) in flight and waiting for their billing`);
    this.cut();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SETTLE_WAIT_MS);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
