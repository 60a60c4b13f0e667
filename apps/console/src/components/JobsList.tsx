import type { JobDetail, JobSummary } from '@app/client';
import { useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { unwrap, useApi } from '../api';
import { ErrorText, fmt, Loading, StatusBadge } from './ui';

/** A team's newest jobs; a job opens to show its calls. */
export function JobsList({ teamId }: { teamId: string }) {
  const api = useApi();
  const jobs = useQuery({
    queryKey: ['team', teamId, 'jobs'],
    queryFn: () =>
      unwrap<{ data: JobSummary[]; next_cursor: string | null }>(
        api.GET('/api/jobs/teams/{team_id}', {
          params: { path: { team_id: teamId }, query: { limit: 25 } },
        }),
      ),
  });
  const [open, setOpen] = useState<string | null>(null);
  if (jobs.isPending) return <Loading what="jobs" />;
  if (jobs.error) return <ErrorText error={jobs.error} />;
  if (jobs.data.data.length === 0) return <p className="muted">No jobs yet.</p>;
  return (
    <div className="table-wrap">
      <table aria-label={`Jobs of ${teamId}`}>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Calls
            </th>
            <th scope="col" className="num">
              Tokens
            </th>
            <th scope="col" className="num">
              Cost
            </th>
            <th scope="col" className="num">
              Credits
            </th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.data.data.map((job) => (
            <Fragment key={job.job_id}>
              <tr>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-expanded={open === job.job_id}
                    aria-controls={`calls-${job.job_id}`}
                    onClick={() => setOpen(open === job.job_id ? null : job.job_id)}
                  >
                    {job.job_type}
                  </button>
                  <div className="small mono muted">{job.job_id.slice(0, 8)}</div>
                </td>
                <td>
                  <StatusBadge status={job.status} />
                </td>
                <td className="num">{job.costs.total_calls}</td>
                <td className="num">{fmt.int(job.costs.total_tokens)}</td>
                <td className="num">{fmt.usd(job.costs.total_cost_usd)}</td>
                <td className="num">{fmt.credits(job.costs.credits_charged)}</td>
                <td className="small">{fmt.time(job.created_at)}</td>
              </tr>
              {open === job.job_id && (
                <tr id={`calls-${job.job_id}`}>
                  <td colSpan={7}>
                    <JobCalls teamId={teamId} jobId={job.job_id} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobCalls({ teamId, jobId }: { teamId: string; jobId: string }) {
  const api = useApi();
  const job = useQuery({
    queryKey: ['team', teamId, 'jobs', jobId],
    queryFn: () =>
      unwrap<JobDetail>(
        api.GET('/api/jobs/teams/{team_id}/{job_id}', {
          params: { path: { team_id: teamId, job_id: jobId } },
        }),
      ),
  });
  if (job.isPending) return <Loading what="calls" />;
  if (job.error) return <ErrorText error={job.error} />;
  return (
    <table aria-label={`Calls of job ${jobId}`} className="nested">
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Provider</th>
          <th scope="col">Status</th>
          <th scope="col" className="num">
            Prompt / completion tokens
          </th>
          <th scope="col" className="num">
            Cost
          </th>
          <th scope="col" className="num">
            Latency
          </th>
        </tr>
      </thead>
      <tbody>
        {job.data.calls.map((c) => (
          <tr key={c.call_id}>
            <td>{c.model}</td>
            <td>
              {c.provider ?? '—'}{' '}
              {c.provider_model && <span className="muted small">{c.provider_model}</span>}
            </td>
            <td>
              <StatusBadge status={c.status} />
              {c.error_message && <div className="small">{c.error_message}</div>}
            </td>
            <td className="num">
              {fmt.int(c.prompt_tokens)} / {fmt.int(c.completion_tokens)}
            </td>
            <td className="num">{fmt.usd(c.cost_usd)}</td>
            <td className="num">{c.latency_ms === null ? '—' : `${c.latency_ms} ms`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
