import type { DrainTicket } from '../shutdown-drain';

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
 * this signal after `attempt` returned, and must still stop when its client leaves. The drain
 * ticket is no AbortSignal (see `DrainTicket`): this is the call's only abort signal.
 */
export class UpstreamSignal {
  private controller = new AbortController();
  private timed = false;

  constructor(
    private readonly ticket: DrainTicket,
    private readonly client?: AbortSignal,
  ) {
    ticket.onCut(() => this.controller.abort(shutdownReason()));
    client?.addEventListener('abort', () => this.controller.abort(client.reason), { once: true });
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
    if (this.ticket.cut) this.controller.abort(shutdownReason());
    else if (this.client?.aborted) this.controller.abort(this.client.reason);
  }
}

/** What a cut call's upstream request is aborted with (as an aborted AbortController's reason). */
function shutdownReason(): DOMException {
  return new DOMException('The call was cut at the shutdown deadline', 'AbortError');
}
