import type { OrganizationAnalytics, Organization, Team } from '@app/client';
import { useQuery } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { listAll, unwrap, useApi } from '../api';
import { JobsList } from '../components/JobsList';
import { ErrorText, fmt, Loading, Section } from '../components/ui';

const day = (d: Date) => d.toISOString().slice(0, 10);
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function UsagePage() {
  const api = useApi();
  const orgs = useQuery({
    queryKey: ['organizations'],
    queryFn: () =>
      listAll<Organization>((cursor) =>
        api.GET('/api/organizations', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const [chosenOrg, setOrg] = useState('');
  const org = chosenOrg || orgs.data?.[0]?.organization_id || '';
  const [from, setFrom] = useState(() => day(new Date(Date.now() - 29 * 86_400_000)));
  const [to, setTo] = useState(() => day(new Date()));
  const analytics = useQuery({
    queryKey: ['analytics', org, from, to],
    enabled: Boolean(org),
    queryFn: () =>
      unwrap<OrganizationAnalytics>(
        api.GET('/api/jobs/organizations/{org_id}/analytics', {
          params: {
            path: { org_id: org },
            query: { from: from || undefined, to: to || undefined },
          },
        }),
      ),
  });
  const teams = useQuery({
    queryKey: ['teams', org],
    enabled: Boolean(org),
    queryFn: () =>
      listAll<Team>((cursor) =>
        api.GET('/api/teams', { params: { query: { organization_id: org, limit: 200, cursor } } }),
      ),
  });
  const [chosenTeam, setTeam] = useState('');
  const team = teams.data?.some((t) => t.team_id === chosenTeam)
    ? chosenTeam
    : (teams.data?.[0]?.team_id ?? '');
  const a = analytics.data;

  return (
    <>
      <h1>Usage</h1>
      <div className="filters card" role="search" aria-label="Usage filters">
        <label>
          Organization
          <select value={org} onChange={(e) => setOrg(e.target.value)}>
            {orgs.data?.map((o) => (
              <option key={o.organization_id} value={o.organization_id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="button" className="secondary" onClick={() => void analytics.refetch()}>
          Refresh
        </button>
      </div>
      {orgs.data?.length === 0 && <p className="muted">No organizations yet.</p>}
      {analytics.isLoading && <Loading what="usage" />}
      <ErrorText error={orgs.error ?? analytics.error} />
      {a && (
        <>
          <Section title="Per day">
            <Chart
              label={`Calls and cost per day: ${count(a.daily.length, 'day')} with usage`}
              data={a.daily.map((d) => ({
                name: d.date,
                calls: d.calls,
                cost: d.cost_usd,
                tokens: d.tokens,
              }))}
            />
            <DataTable
              label="Usage per day"
              head={['Day', 'Jobs', 'Calls', 'Tokens', 'Cost', 'Credits']}
              rows={a.daily.map((d) => [
                d.date,
                d.jobs,
                d.calls,
                fmt.int(d.tokens),
                fmt.usd(d.cost_usd),
                fmt.credits(d.credits),
              ])}
            />
          </Section>
          <div className="grid-2">
            <Section title="Per team">
              <Chart
                label={`Calls and cost per team: ${count(a.by_team.length, 'team')}`}
                data={a.by_team.map((t) => ({
                  name: t.team_alias || t.team_id,
                  calls: t.calls,
                  cost: t.cost_usd,
                  tokens: t.tokens,
                }))}
              />
              <DataTable
                label="Usage per team"
                head={['Team', 'Jobs', 'Calls', 'Tokens', 'Cost', 'Credits used']}
                rows={a.by_team.map((t) => [
                  t.team_alias || t.team_id,
                  t.jobs,
                  t.calls,
                  fmt.int(t.tokens),
                  fmt.usd(t.cost_usd),
                  fmt.credits(t.credits_used),
                ])}
              />
            </Section>
            <Section title="Per model">
              <Chart
                label={`Calls and cost per model: ${count(a.by_model.length, 'model')}`}
                data={a.by_model.map((m) => ({
                  name: m.model,
                  calls: m.calls,
                  cost: m.cost_usd,
                  tokens: m.tokens,
                }))}
              />
              <DataTable
                label="Usage per model"
                head={['Model', 'Calls', 'Failed', 'Tokens', 'Cost', 'Avg latency']}
                rows={a.by_model.map((m) => [
                  m.model,
                  m.calls,
                  m.failed_calls,
                  fmt.int(m.tokens),
                  fmt.usd(m.cost_usd),
                  `${m.avg_latency_ms} ms`,
                ])}
              />
            </Section>
          </div>
        </>
      )}
      {org && (
        <Section
          title="Jobs and calls"
          actions={
            <label className="inline">
              Team{' '}
              <select value={team} onChange={(e) => setTeam(e.target.value)}>
                {teams.data?.map((t) => (
                  <option key={t.team_id} value={t.team_id}>
                    {t.team_alias || t.team_id}
                  </option>
                ))}
              </select>
            </label>
          }
        >
          {team ? (
            <JobsList teamId={team} />
          ) : (
            <p className="muted">This organization has no teams.</p>
          )}
        </Section>
      )}
    </>
  );
}

interface Point {
  name: string;
  calls: number;
  cost: number;
  tokens: number;
}

function Chart({ data, label }: { data: Point[]; label: string }) {
  if (data.length === 0) return <p className="muted">No calls in this window.</p>;
  return (
    <figure className="chart" role="img" aria-label={label}>
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="name" tick={{ fontSize: 12 }} />
          <YAxis yAxisId="calls" allowDecimals={false} tick={{ fontSize: 12 }} width={40} />
          <YAxis
            yAxisId="cost"
            orientation="right"
            tick={{ fontSize: 12 }}
            width={60}
            tickFormatter={(v: number) => `$${Number(v.toPrecision(2))}`}
          />
          <Tooltip />
          <Legend />
          <Bar
            yAxisId="calls"
            dataKey="calls"
            name="Calls"
            fill="#3b5bdb"
            isAnimationActive={false}
          />
          <Bar
            yAxisId="cost"
            dataKey="cost"
            name="Cost (USD)"
            fill="#f08c00"
            isAnimationActive={false}
          />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

function DataTable({ label, head, rows }: { label: string; head: string[]; rows: ReactNode[][] }) {
  return (
    <details>
      <summary>Show the numbers</summary>
      <div className="table-wrap">
        <table aria-label={label}>
          <thead>
            <tr>
              {head.map((h, i) => (
                <th key={h} scope="col" className={i ? 'num' : undefined}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              <tr key={r}>
                {row.map((cell, i) =>
                  i === 0 ? (
                    <th key={i} scope="row">
                      {cell}
                    </th>
                  ) : (
                    <td key={i} className="num">
                      {cell}
                    </td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
