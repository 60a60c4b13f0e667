import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { settle } from '@app/billing';
import { retryingLockConflicts, returning } from '@app/db';
import type { BudgetMode, JobStatus } from '@app/db';
import { TollgateError } from '@app/http';
import type { JobCosts } from './job.mapper';

export interface Completion {
  status: 'completed' | 'failed';
  metadata?: Record<string, unknown>;
  error_message?: string;
}

export interface CompletionResult {
  job_id: string;
  status: 'completed' | 'failed';
  completed_at: string;
  costs: JobCosts;
}

interface LockedJob {
  team_id: string;
  key_id: string | null;
  status: JobStatus;
  completion_result: CompletionResult | null;
  budget_mode: BudgetMode;
}

/** Per-job cost totals from its call rows (shared by complete and GET costs). */
export const JOB_CALL_TOTALS = `SELECT count(*)::int AS total_calls,
       count(*) FILTER (WHERE status = 'success')::int AS successful_calls,
       count(*) FILTER (WHERE status <> 'success')::int AS failed_calls,
       COALESCE(sum(total_tokens), 0)::bigint AS total_tokens,
       COALESCE(sum(client_cost_usd), 0) AS total_cost_usd,
       COALESCE(sum(credits_charged), 0)::bigint AS call_credits
  FROM llm_calls WHERE job_id = $1`;

/**
 * Closes a job and charges it, exactly once: the job row is locked, the job_based credit
 * (hold → deduction, or released when failed) is settled and the result stored in the same
 * transaction; a repeat (or a racing twin) gets the stored result back and charges nothing.
 */
@Injectable()
export class JobCompletionService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** teamId null = the server (TTL sweep); skipLocked: null when another replica holds the job. */
  complete(
    teamId: string | null,
    jobId: string,
    completion: Completion,
    skipLocked = false,
  ): Promise<CompletionResult | null> {
    return retryingLockConflicts(() => this.transaction(teamId, jobId, completion, skipLocked));
  }

  private transaction(
    teamId: string | null,
    jobId: string,
    completion: Completion,
    skipLocked: boolean,
  ): Promise<CompletionResult | null> {
    return this.db.transaction(async (manager) => {
      const rows: LockedJob[] = await manager.query(
        `SELECT j.team_id, j.key_id, j.status, j.completion_result, t.budget_mode
           FROM jobs j JOIN teams t ON t.team_id = j.team_id
          WHERE j.job_id = $1 FOR NO KEY UPDATE OF j ${skipLocked ? 'SKIP LOCKED' : ''}`,
        [jobId],
      );
      const job = rows[0];
      if (!job) {
        if (skipLocked) return null;
        throw new TollgateError('NOT_FOUND', 'Job not found');
      }
      if (teamId !== null && job.team_id !== teamId) {
        throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
      }
      if (job.completion_result) return job.completion_result;
      if (job.status === 'completed' || job.status === 'failed') {
        throw new TollgateError('JOB_CLOSED', `Job is already ${job.status}`);
      }
      const due = job.budget_mode === 'job_based' && completion.status === 'completed' ? 1 : 0;
      const settled = await settle(manager, {
        teamId: job.team_id,
        keyId: job.key_id,
        jobId,
        releaseJobHolds: true,
        due,
        reason: `Job ${jobId} ${completion.status}`,
      });
      const stored = await returning<{ completion_result: CompletionResult }>(
        manager,
        `WITH agg AS (${JOB_CALL_TOTALS}),
         charged AS (SELECT $5::bigint + agg.call_credits AS credits FROM agg)
         UPDATE jobs j
            SET status = $2::text, completed_at = now(), updated_at = now(),
                error_message = COALESCE($3, j.error_message),
                metadata = j.metadata || $4::jsonb,
                credits_charged = charged.credits,
                credit_applied = charged.credits > 0,
                completion_result = jsonb_build_object(
                  'job_id', j.job_id,
                  'status', $2::text,
                  'completed_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'costs', jsonb_build_object(
                    'total_calls', agg.total_calls,
                    'successful_calls', agg.successful_calls,
                    'failed_calls', agg.failed_calls,
                    'total_tokens', agg.total_tokens,
                    'total_cost_usd', agg.total_cost_usd::float8,
                    'credits_charged', charged.credits,
                    'credit_applied', charged.credits > 0,
                    'credits_remaining', $6::bigint))
           FROM agg, charged
          WHERE j.job_id = $1
         RETURNING j.completion_result`,
        [
          jobId,
          completion.status,
          completion.error_message ?? null,
          JSON.stringify(completion.metadata ?? {}),
          settled.charged,
          settled.remaining,
        ],
      );
      return stored[0].completion_result;
    });
  }
}
