import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { JobStatus, keyset } from '@app/db';
import { decodeCursor, notFound, toPage } from '@app/http';
import { parseDateRange } from './date-range';
import { CallRow, JobRow, toCallDetail, toJobSummary } from './job.mapper';

const JOBS = keyset('created_at', 'job_id');

/** Per-job call totals, computed in Postgres for the jobs of one page only. */
const JOB_COSTS = `LEFT JOIN LATERAL (
    SELECT count(*) AS total_calls,
           count(*) FILTER (WHERE c.status = 'success') AS successful_calls,
           COALESCE(sum(c.total_tokens), 0) AS total_tokens,
           COALESCE(sum(c.client_cost_usd), 0) AS total_cost_usd,
           COALESCE(sum(c.provider_cost_usd), 0) AS provider_cost_usd
      FROM llm_calls c WHERE c.job_id = j.job_id) s ON true`;

const JOB_COLUMNS = `j.job_id, j.team_id, j.key_id, j.job_type, j.user_id, j.status, j.metadata,
  j.error_message, j.credits_charged, j.credit_applied, j.created_at, j.started_at,
  j.completed_at, s.*,
  ${JOBS.select}`;

export interface JobFilter {
  status?: JobStatus;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

@Injectable()
export class JobHistoryService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** A team's jobs, newest first, keyset-paginated on (created_at, job_id). */
  async list(teamId: string, filter: JobFilter) {
    const range = parseDateRange(filter.from, filter.to);
    const position = decodeCursor(filter.cursor);
    await this.requireTeam(teamId);
    const limit = filter.limit ?? 50;
    const rows: JobRow[] = await this.db.query(
      `SELECT ${JOB_COLUMNS}
         FROM (SELECT * FROM jobs
                WHERE team_id = $1
                  AND ($2::varchar IS NULL OR status = $2)
                  AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)
                  AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)
                  AND ${JOBS.after('$5', '$6')}
                ORDER BY ${JOBS.order}
                LIMIT $7) j
         ${JOB_COSTS}
        ORDER BY j.created_at DESC, j.job_id DESC`,
      [teamId, filter.status ?? null, range.from, range.to, ...JOBS.params(position), limit + 1],
    );
    return toPage(JOBS.slice(rows, limit), toJobSummary);
  }

  /** One job of the team with every call attempt, provider cost included. */
  async get(teamId: string, jobId: string) {
    await this.requireTeam(teamId);
    const jobs: JobRow[] = await this.db.query(
      `SELECT ${JOB_COLUMNS} FROM jobs j ${JOB_COSTS} WHERE j.job_id = $1 AND j.team_id = $2`,
      [jobId, teamId],
    );
    if (!jobs[0]) throw notFound('Job', jobId);
    const calls: CallRow[] = await this.db.query(
      `SELECT * FROM llm_calls WHERE job_id = $1 ORDER BY created_at, attempt, call_id`,
      [jobId],
    );
    return { ...toJobSummary(jobs[0]), calls: calls.map(toCallDetail) };
  }

  private async requireTeam(teamId: string): Promise<void> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM teams WHERE team_id = $1', [teamId]);
    if (rows.length === 0) throw notFound('Team', teamId);
  }
}
