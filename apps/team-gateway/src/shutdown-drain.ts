import { Logger } from '@nestjs/common';

/** How long closing the app waits, at most, for cut calls to write their billing. */
const SETTLE_WAIT_MS = 10_000;

/** One call's place in the drain. */
export interface DrainTicket {
  /** Aborts at the shutdown deadline: stop waiting on the upstream, record and settle now. */
  readonly cut: AbortSignal;
  /** The call is settled (safe to call more than once). */
  readonly leave: () => void;
}

/**
 * The LLM calls in flight, streamed or not, for graceful shutdown. Each one holds credits until
 * it is settled; at the shutdown deadline every one is cut (upstream request aborted, what it got
 * recorded, hold settled), and the app's pools close only once they are all settled.
 */
export class CallDrain {
  private readonly logger = new Logger('Shutdown');
  private readonly running = new Set<AbortController>();
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
    const controller = new AbortController();
    if (this.isCut) controller.abort();
    this.running.add(controller);
    const leave = () => {
      if (this.running.delete(controller) && this.running.size === 0) {
        this.idle.splice(0).forEach((resolve) => resolve());
      }
    };
    return { cut: controller.signal, leave };
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
    for (const controller of this.running) controller.abort();
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
