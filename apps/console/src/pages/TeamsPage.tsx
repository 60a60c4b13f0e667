import type { CreatedTeam, ModelGroup, Organization, Team } from '@app/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { listAll, unwrap, useApi } from '../api';
import { ErrorText, fmt, Loading, NewKey, Section, StatusBadge } from '../components/ui';

export function TeamsPage() {
  const api = useApi();
  const orgs = useQuery({
    queryKey: ['organizations'],
    queryFn: () =>
      listAll<Organization>((cursor) =>
        api.GET('/api/organizations', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const teams = useQuery({
    queryKey: ['teams'],
    queryFn: () =>
      listAll<Team>((cursor) =>
        api.GET('/api/teams', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState('');
  const [org, setOrg] = useState('');

  const needle = search.trim().toLowerCase();
  const shown = (teams.data ?? []).filter(
    (t) =>
      (!org || t.organization_id === org) &&
      (!status || t.status === status) &&
      (!needle || `${t.team_id} ${t.team_alias ?? ''}`.toLowerCase().includes(needle)),
  );

  return (
    <>
      <h1>Organizations and teams</h1>
      <div className="grid-2">
        <Section title="Organizations">
          {orgs.isPending ? <Loading what="organizations" /> : <ErrorText error={orgs.error} />}
          <ul className="plain" aria-label="Organizations">
            {orgs.data?.map((o) => (
              <li key={o.organization_id}>
                <strong>{o.name}</strong> <span className="muted">{o.organization_id}</span>
              </li>
            ))}
          </ul>
          <CreateOrganization />
        </Section>
        <Section title="New team">
          <CreateTeam organizations={orgs.data ?? []} />
        </Section>
      </div>
      <Section title="Teams">
        <div className="filters" role="search">
          <label>
            Search
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              placeholder="team id or alias"
            />
          </label>
          <label>
            Organization
            <select value={org} onChange={(e) => setOrg(e.target.value)}>
              <option value="">All</option>
              {orgs.data?.map((o) => (
                <option key={o.organization_id} value={o.organization_id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">Any</option>
              <option value="active">active</option>
              <option value="suspended">suspended</option>
              <option value="paused">paused</option>
            </select>
          </label>
        </div>
        {teams.isPending ? <Loading what="teams" /> : <ErrorText error={teams.error} />}
        <div className="table-wrap">
          <table aria-label="Teams">
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">Organization</th>
                <th scope="col">Status</th>
                <th scope="col">Budget mode</th>
                <th scope="col" className="num">
                  Balance (credits)
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => (
                <tr key={t.team_id}>
                  <td>
                    <Link to={`/teams/${encodeURIComponent(t.team_id)}`}>
                      {t.team_alias || t.team_id}
                    </Link>
                    {t.team_alias && <div className="muted small">{t.team_id}</div>}
                  </td>
                  <td>{t.organization_id}</td>
                  <td>
                    <StatusBadge status={t.status} />
                  </td>
                  <td>{t.budget_mode}</td>
                  <td className="num">{fmt.credits(t.credits_remaining)}</td>
                </tr>
              ))}
              {teams.data && shown.length === 0 && (
                <tr>
                  <td colSpan={5} className="muted">
                    No teams match.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </Section>
    </>
  );
}

function CreateOrganization() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () =>
      unwrap<Organization>(
        api.POST('/api/organizations/create', {
          body: { organization_id: id.trim(), name: name.trim() },
        }),
      ),
    onSuccess: () => {
      setId('');
      setName('');
      return queryClient.invalidateQueries({ queryKey: ['organizations'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit} className="stack" aria-label="New organization">
      <h3>New organization</h3>
      <label>
        Organization id
        <input required value={id} onChange={(e) => setId(e.target.value)} />
      </label>
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <ErrorText error={create.error} />
      <button type="submit" disabled={create.isPending}>
        Create organization
      </button>
    </form>
  );
}

function CreateTeam({ organizations }: { organizations: Organization[] }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const groups = useQuery({
    queryKey: ['model-groups'],
    queryFn: () =>
      listAll<ModelGroup>((cursor) =>
        api.GET('/api/model-groups', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const [org, setOrg] = useState('');
  const [teamId, setTeamId] = useState('');
  const [alias, setAlias] = useState('');
  const [credits, setCredits] = useState('0');
  const [chosen, setChosen] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedTeam | null>(null);
  const create = useMutation({
    mutationFn: () =>
      unwrap<CreatedTeam>(
        api.POST('/api/teams/create', {
          body: {
            organization_id: org || organizations[0]?.organization_id || '',
            team_id: teamId.trim(),
            team_alias: alias.trim() || undefined,
            model_groups: chosen,
            credits_allocated: Number(credits),
          },
        }),
      ),
    onSuccess: (team) => {
      setCreated(team);
      setTeamId('');
      setAlias('');
      setChosen([]);
      return queryClient.invalidateQueries({ queryKey: ['teams'] });
    },
  });
  if (created) {
    return (
      <div className="stack">
        <p role="status">
          Team <Link to={`/teams/${encodeURIComponent(created.team_id)}`}>{created.team_id}</Link>{' '}
          created with its first key.
        </p>
        <NewKey secret={created.virtual_key} onDone={() => setCreated(null)} />
      </div>
    );
  }
  return (
    <form
      className="stack"
      aria-label="New team"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <label>
        Organization
        <select
          required
          value={org || organizations[0]?.organization_id || ''}
          onChange={(e) => setOrg(e.target.value)}
        >
          {organizations.map((o) => (
            <option key={o.organization_id} value={o.organization_id}>
              {o.name} ({o.organization_id})
            </option>
          ))}
        </select>
      </label>
      <label>
        Team id
        <input required value={teamId} onChange={(e) => setTeamId(e.target.value)} />
      </label>
      <label>
        Alias
        <input value={alias} onChange={(e) => setAlias(e.target.value)} />
      </label>
      <label>
        Starting credits
        <input
          type="number"
          min={0}
          step="any"
          value={credits}
          onChange={(e) => setCredits(e.target.value)}
        />
      </label>
      <fieldset>
        <legend>Model groups</legend>
        {groups.data?.length === 0 && (
          <p className="muted small">No model groups yet (see Model catalog).</p>
        )}
        {groups.data?.map((g) => (
          <label key={g.group_name} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(g.group_name)}
              onChange={(e) =>
                setChosen(
                  e.target.checked
                    ? [...chosen, g.group_name]
                    : chosen.filter((c) => c !== g.group_name),
                )
              }
            />
            {g.group_name}
          </label>
        ))}
      </fieldset>
      <ErrorText error={create.error} />
      <button type="submit" disabled={create.isPending || organizations.length === 0}>
        Create team
      </button>
    </form>
  );
}
