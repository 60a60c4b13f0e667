import { Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '@app/http';
import type { Completion, CompletionResult } from '../jobs/job-completion.service';

type Close = () => Promise<CompletionResult | null>;

/**
 * Closes of exact one-call jobs that Postgres could not take (it went away mid-call): tried again
 * with backoff until it is back, so the job is charged (its call was answered) or failed and its
 * held credit released — not left open, holding the team's credit until the job TTL.
 */
export class DeferredCloses {
  private readonly logger = new Logger('Calls');
  private readonly waiting = new Map<string, Close>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs `close` now; when the database is away, again later (null: deferred). */
  async now(jobId: string, completion: Completion, close: Close): Promise<CompletionResult | null> {
    try {
      return await close();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.logger.warn(`Job ${jobId} will be closed ${completion.status} once Postgres is back`);
      this.waiting.set(jobId, close);
      this.retry(jobId, 100);
      return null;
    }
  }

  get pending(): number {
    return this.waiting.size;
  }

  /** On shutdown: one last try each (a job left open is closed by the TTL sweep). */
  async flush(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.waiting.values()].map((close) => close()));
    this.waiting.clear();
  }

  private retry(jobId: string, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const close = this.waiting.get(jobId);
      if (!close) return;
      close().then(
        () => this.waiting.delete(jobId),
        (err: unknown) => {
          if (isDatabaseUnavailable(err)) return this.retry(jobId, Math.min(delayMs * 2, 2000));
          this.waiting.delete(jobId);
          this.logger.error(`Closing job ${jobId} failed: ${(err as Error).message}`);
        },
      );
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }
}
