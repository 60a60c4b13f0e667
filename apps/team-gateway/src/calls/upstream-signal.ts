/**
 * The signal a call's upstream requests see: aborted when the call is cut (shutdown deadline),
 * when its caller stops (a stream's client gone), or when the attempt's own timeout passes. One
 * AbortController per call with one listener per source, instead of a timeout controller and an
 * `AbortSignal.any` per attempt (three signals, and the WeakRefs `any` keeps: ~2 % of a loaded
 * gateway's CPU in `npm run bench:profile`). A timeout aborts only that attempt: the next attempt
 * (a fallback) gets a fresh controller.
 *
 * The sources belong to the call (its drain ticket) and to its request (the client), so the
 * listeners go with them and are never removed: a stream keeps reading its upstream body under
 * this signal after `attempt` returned, and must still stop when its client leaves.
 */
export class UpstreamSignal {
  private controller = new AbortController();
  private timed = false;
  private readonly sources: AbortSignal[];

  constructor(...sources: Array<AbortSignal | undefined>) {
    this.sources = sources.filter((source): source is AbortSignal => source !== undefined);
    for (const source of this.sources) {
      source.addEventListener('abort', () => this.controller.abort(source.reason), { once: true });
    }
    this.follow();
  }

  /** The signal of the next attempt: the call's, renewed once a timeout aborted it. */
  forAttempt(): AbortSignal {
    if (this.timed) {
      this.controller = new AbortController();
      this.timed = false;
      this.follow();
    }
    return this.controller.signal;
  }

  /** The attempt's time is up: aborts it with a `TimeoutError` (as `AbortSignal.timeout` does). */
  timeOut(): void {
    this.timed = true;
    this.controller.abort(new DOMException('Upstream request timed out', 'TimeoutError'));
  }

  /** Whether the current attempt's timeout passed (whatever else aborted it). */
  get timedOut(): boolean {
    return this.timed;
  }

  /** A source aborted already: so is the attempt (its listener fired before, or never will). */
  private follow(): void {
    const aborted = this.sources.find((source) => source.aborted);
    if (aborted) this.controller.abort(aborted.reason);
  }
}
