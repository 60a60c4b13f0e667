import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { releaseExpiredHolds, releaseExpiredLeases } from '@app/billing';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { JobGate } from '../metering/job-gate';
import { JobCompletionService } from './job-completion.service';

const BATCH = 100;
/** Batches per tick: a backlog drains at up to 1,000 jobs a tick without one tick running long. */
const MAX_BATCHES = 10;

/**
 * Closes jobs left open past JOB_TTL (completed if a call succeeded, else failed; charged by the
 * same rules as a client's complete), releases expired call holds and the expired leases of
 * replicas that died. Safe on several replicas:
 * each job is closed under FOR UPDATE SKIP LOCKED and completion is idempotent.
 */
@Injectable()
export class JobsSweep implements OnApplicationBootstrap {
  private readonly logger = new Logger(JobsSweep.name);
  private running = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
    private readonly completion: JobCompletionService,
    private readonly scheduler: SchedulerRegistry,
    private readonly jobGate: JobGate,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.tick(), this.config.jobs.sweepIntervalMs);
    timer.unref();
    this.scheduler.addInterval('jobs-sweep', timer);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const closed = await this.closeExpiredJobs();
      const released = await releaseExpiredHolds(this.db);
      const leased = await releaseExpiredLeases(this.db);
      if (closed > 0 || released > 0 || leased > 0) {
        this.logger.log(
          `Sweep: closed ${closed} expired job(s), released ${released} held and ${leased} leased credit(s)`,
        );
      }
    } catch (err) {
      this.logger.warn(`Sweep failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  private async closeExpiredJobs(): Promise<number> {
    let closed = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const { found, closed: n } = await this.closeExpiredBatch();
      closed += n;
      // a batch with nothing closed is all jobs another replica is closing right now
      if (found < BATCH || n === 0) break;
    }
    return closed;
  }

  private async closeExpiredBatch(): Promise<{ found: number; closed: number }> {
    const jobs: Array<{ job_id: string }> = await this.db.query(
      `SELECT j.job_id
         FROM jobs j
        WHERE j.status IN ('pending', 'in_progress')
          AND j.created_at < now() - make_interval(secs => $1::float8)
        ORDER BY j.created_at LIMIT $2`,
      [this.config.jobs.ttlSeconds, BATCH],
    );
    let closed = 0;
    for (const job of jobs) {
      // closed like a client's complete, once no call runs on it on any replica: a job with
      // calls in flight is left to a later tick (waiting here would stall the whole sweep)
      const result = await this.jobGate.close(
        null,
        job.job_id,
        async () =>
          this.completion.complete(
            null,
            job.job_id,
            (await this.succeeded(job.job_id))
              ? { status: 'completed' }
              : { status: 'failed', error_message: 'Closed by the server after JOB_TTL' },
            true,
          ),
        { skipWhenBusy: true },
      );
      if (result) closed += 1;
    }
    return { found: jobs.length, closed };
  }

  /** Whether a call of the job succeeded (its records written: read after the gate's drain). */
  private async succeeded(jobId: string): Promise<boolean> {
    const rows: Array<{ ok: boolean }> = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM llm_calls WHERE job_id = $1 AND status = 'success') AS ok`,
      [jobId],
    );
    return rows[0]?.ok === true;
  }
}
