import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import { Job, newestFirst } from '@app/db';
import { decodeCursor, Page, toPage, TollgateError } from '@app/http';
import { CallsService } from '../calls/calls.service';
import { toCallResponse } from '../calls/call-outcomes';
import { LlmCallDto } from '../calls/dto/llm-call.dto';
import { CallJournal } from '../metering/call-journal';
import { JobGate } from '../metering/job-gate';
import { StreamCallService } from '../streaming/stream-call.service';
import { CreateAndCallDto } from './dto/create-and-call.dto';
import { CreateJobDto } from './dto/create-job.dto';
import { ListJobsQueryDto } from './dto/list-jobs.query';
import { Completion, JOB_CALL_TOTALS, JobCompletionService } from './job-completion.service';
import { assertOwnTeam, insertJob } from './job-rows';
import { CALL_COST_COLUMNS, CallCostRow, JobCosts, toCallCost, toJobResponse } from './job.mapper';

type JobResponse = ReturnType<typeof toJobResponse>;

@Injectable()
export class JobsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly calls: CallsService,
    private readonly completion: JobCompletionService,
    private readonly streams: StreamCallService,
    private readonly journal: CallJournal,
    private readonly jobGate: JobGate,
  ) {}

  async create(principal: TeamPrincipal, dto: CreateJobDto) {
    const job = await insertJob(this.db, principal, dto);
    // every replica now knows the job is this team's without asking Postgres
    await this.jobGate.opened(job.job_id, principal.teamId);
    return { job_id: job.job_id, status: job.status, created_at: job.created_at.toISOString() };
  }

  async get(principal: TeamPrincipal, jobId: string): Promise<JobResponse> {
    return toJobResponse(await this.own(principal, jobId));
  }

  async updateMetadata(principal: TeamPrincipal, jobId: string, metadata: Record<string, unknown>) {
    await this.own(principal, jobId);
    await this.db.query(
      'UPDATE jobs SET metadata = metadata || $2::jsonb, updated_at = now() WHERE job_id = $1',
      [jobId, JSON.stringify(metadata)],
    );
    return this.get(principal, jobId);
  }

  async llmCall(principal: TeamPrincipal, jobId: string, body: LlmCallDto) {
    const done = await this.calls.call(principal, jobId, body);
    return toCallResponse(done.settled.callId, done.value, done.answered);
  }

  llmCallStream(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    return this.streams.stream(principal, jobId, body, req, res, { includeUsage: true });
  }

  /** create-and-call as a stream: the job is closed before the stream's final [DONE]. */
  createAndCallStream(
    principal: TeamPrincipal,
    dto: CreateAndCallDto,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const { team_id, job_type, user_id, metadata, job_metadata, ...call } = dto;
    const job = { team_id, job_type, user_id, metadata: { ...job_metadata, ...metadata } };
    const body = Object.assign(new LlmCallDto(), call);
    return this.streams.streamOneCallJob(principal, job, body, req, res, { includeUsage: true });
  }

  /** Closes the job once no call runs on it on any replica and their records are written. */
  async complete(principal: TeamPrincipal, jobId: string, completion: Completion) {
    const result = await this.jobGate.close(principal.teamId, jobId, () =>
      this.completion.complete(principal.teamId, jobId, completion),
    );
    if (!result) throw new TollgateError('NOT_FOUND', 'Job not found');
    return result;
  }

  /** A one-call job: created, called, and closed as completed (or failed when the call fails). */
  async createAndCall(principal: TeamPrincipal, dto: CreateAndCallDto) {
    const { team_id, job_type, user_id, metadata, job_metadata, ...call } = dto;
    const job = { team_id, job_type, user_id, metadata: { ...job_metadata, ...metadata } };
    const body = Object.assign(new LlmCallDto(), call);
    const done = await this.calls.callOneCallJob(principal, job, body);
    return {
      job_id: done.jobId,
      ...toCallResponse(done.settled.callId, done.value, done.answered),
      costs: done.completion.costs,
    };
  }

  async costs(principal: TeamPrincipal, jobId: string) {
    const job = await this.own(principal, jobId);
    const [totals, calls, balance] = await Promise.all([
      this.db.query<
        Array<
          Omit<JobCosts, 'credits_charged' | 'credit_applied' | 'credits_remaining'> & {
            total_tokens: string;
            total_cost_usd: string;
            call_credits: string;
          }
        >
      >(JOB_CALL_TOTALS, [jobId]),
      this.db.query<CallCostRow[]>(
        `SELECT ${CALL_COST_COLUMNS.join(', ')}
           FROM llm_calls WHERE job_id = $1 ORDER BY created_at, attempt`,
        [jobId],
      ),
      this.db.query<Array<{ remaining: string }>>(
        'SELECT credits_allocated - credits_used - credits_held AS remaining FROM teams WHERE team_id = $1',
        [job.teamId],
      ),
    ]);
    const t = totals[0];
    const closed = job.status === 'completed' || job.status === 'failed';
    // A closed job's stored charge is its job credit (job_based) or its calls' credits as of the
    // completion (consumption); a call still in flight then settles later and counts here too.
    const charged = closed
      ? Math.max(job.creditsCharged, Number(t.call_credits))
      : Number(t.call_credits);
    const costs: JobCosts = {
      total_calls: t.total_calls,
      successful_calls: t.successful_calls,
      failed_calls: t.failed_calls,
      total_tokens: Number(t.total_tokens),
      total_cost_usd: Number(t.total_cost_usd),
      credits_charged: charged,
      credit_applied: charged > 0,
      credits_remaining: Number(balance[0]?.remaining ?? 0),
    };
    return { job_id: job.jobId, status: job.status, costs, calls: calls.map(toCallCost) };
  }

  async list(
    principal: TeamPrincipal,
    teamId: string,
    query: ListJobsQueryDto,
  ): Promise<Page<JobResponse>> {
    assertOwnTeam(principal, teamId);
    await this.journal.flush();
    const limit = query.limit ?? 50;
    const position = decodeCursor(query.cursor);
    const qb = this.db
      .getRepository(Job)
      .createQueryBuilder('j')
      .where('j.team_id = :teamId', { teamId });
    if (query.status) qb.andWhere('j.status = :status', { status: query.status });
    if (query.from) qb.andWhere('j.created_at >= :from', { from: query.from });
    if (query.to) qb.andWhere('j.created_at < :to', { to: query.to });
    return toPage(await newestFirst(qb, 'j', 'job_id', position, limit), toJobResponse);
  }

  /** Jobs, calls, tokens, client cost and credits of the team over [from, to), by SQL aggregation. */
  async usage(principal: TeamPrincipal, teamId: string, from?: string, to?: string) {
    assertOwnTeam(principal, teamId);
    await this.journal.flush();
    const end = to ? new Date(to) : new Date();
    const start = from ? new Date(from) : new Date(end.getTime() - 30 * 86_400_000);
    const params = [teamId, start, end];
    const [jobs, calls, models, credits] = await Promise.all([
      this.db.query<Array<Record<string, number>>>(
        `SELECT count(*)::int AS total_jobs,
                count(*) FILTER (WHERE status = 'completed')::int AS completed_jobs,
                count(*) FILTER (WHERE status = 'failed')::int AS failed_jobs,
                count(*) FILTER (WHERE status IN ('pending', 'in_progress'))::int AS open_jobs
           FROM jobs WHERE team_id = $1 AND created_at >= $2 AND created_at < $3`,
        params,
      ),
      this.db.query<Array<Record<string, string | number>>>(
        `SELECT count(*)::int AS total_calls,
                count(*) FILTER (WHERE status = 'success')::int AS successful_calls,
                count(*) FILTER (WHERE status <> 'success')::int AS failed_calls,
                COALESCE(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
                COALESCE(sum(completion_tokens), 0)::bigint AS completion_tokens,
                COALESCE(sum(total_tokens), 0)::bigint AS total_tokens,
                COALESCE(sum(client_cost_usd), 0)::float8 AS total_cost_usd
           FROM llm_calls WHERE team_id = $1 AND created_at >= $2 AND created_at < $3`,
        params,
      ),
      this.db.query<
        Array<{ model: string; calls: number; total_tokens: string; cost_usd: number }>
      >(
        `SELECT COALESCE(model_name, model_requested) AS model, count(*)::int AS calls,
                COALESCE(sum(total_tokens), 0)::bigint AS total_tokens,
                COALESCE(sum(client_cost_usd), 0)::float8 AS cost_usd
           FROM llm_calls WHERE team_id = $1 AND created_at >= $2 AND created_at < $3
          GROUP BY 1 ORDER BY 1`,
        params,
      ),
      this.db.query<Array<{ credits_used: string }>>(
        `SELECT COALESCE(-sum(credits_amount), 0)::bigint AS credits_used
           FROM credit_transactions
          WHERE team_id = $1 AND transaction_type = 'deduction' AND created_at >= $2 AND created_at < $3`,
        params,
      ),
    ]);
    const c = calls[0];
    return {
      team_id: teamId,
      from: start.toISOString(),
      to: end.toISOString(),
      ...jobs[0],
      total_calls: Number(c.total_calls),
      successful_calls: Number(c.successful_calls),
      failed_calls: Number(c.failed_calls),
      prompt_tokens: Number(c.prompt_tokens),
      completion_tokens: Number(c.completion_tokens),
      total_tokens: Number(c.total_tokens),
      total_cost_usd: Number(c.total_cost_usd),
      credits_used: Number(credits[0].credits_used),
      by_model: models.map((m) => ({
        model: m.model,
        calls: m.calls,
        total_tokens: Number(m.total_tokens),
        cost_usd: m.cost_usd,
      })),
    };
  }

  /** Reads see this replica's own calls: its journal is written first (a no-op when empty). */
  private async own(principal: TeamPrincipal, jobId: string): Promise<Job> {
    await this.journal.flush();
    const job = await this.db.getRepository(Job).findOneBy({ jobId });
    if (!job) throw new TollgateError('NOT_FOUND', 'Job not found');
    if (job.teamId !== principal.teamId) {
      throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
    }
    return job;
  }
}
