import type {
  AutoRefillSettings,
  Balance,
  BudgetMode,
  IssuedKey,
  LedgerEntry,
  ModelGroup,
  Team,
  VirtualKey,
} from '@app/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { listAll, unwrap, useApi } from '../api';
import { JobsList } from '../components/JobsList';
import { ErrorText, fmt, Loading, NewKey, Section, StatusBadge } from '../components/ui';

export function TeamPage() {
  const teamId = useParams().teamId ?? '';
  const api = useApi();
  const path = { params: { path: { team_id: teamId } } };
  const team = useQuery({
    queryKey: ['team', teamId],
    queryFn: () => unwrap<Team>(api.GET('/api/teams/{team_id}', path)),
  });
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['team', teamId] });
  const setStatus = useMutation({
    mutationFn: (action: 'suspend' | 'resume') =>
      unwrap<Team>(
        action === 'suspend'
          ? api.PUT('/api/teams/{team_id}/suspend', path)
          : api.PUT('/api/teams/{team_id}/resume', path),
      ),
    onSuccess: () =>
      Promise.all([refresh(), queryClient.invalidateQueries({ queryKey: ['teams'] })]),
  });

  if (team.isPending) return <Loading what="team" />;
  if (team.error) {
    return (
      <>
        <p>
          <Link to="/">← Teams</Link>
        </p>
        <ErrorText error={team.error} />
      </>
    );
  }
  const t = team.data;
  return (
    <>
      <p>
        <Link to="/">← Teams</Link>
      </p>
      <div className="page-head">
        <h1>
          {t.team_alias || t.team_id} <StatusBadge status={t.status} />
        </h1>
        <div className="row">
          {t.status === 'active' ? (
            <button
              type="button"
              className="danger"
              onClick={() => setStatus.mutate('suspend')}
              disabled={setStatus.isPending}
            >
              Suspend team
            </button>
          ) : (
            t.status !== 'deleted' && (
              <button
                type="button"
                onClick={() => setStatus.mutate('resume')}
                disabled={setStatus.isPending}
              >
                Resume team
              </button>
            )
          )}
        </div>
      </div>
      <p className="muted">
        {t.team_id} · organization {t.organization_id}
      </p>
      <ErrorText error={setStatus.error} />
      <div className="grid-2">
        <BalanceCard teamId={teamId} />
        <KeysCard teamId={teamId} />
      </div>
      <div className="grid-2">
        <ModelGroupsCard team={t} />
        <BudgetCard team={t} />
      </div>
      <div className="grid-2">
        <AutoRefillCard teamId={teamId} />
        <LedgerCard teamId={teamId} />
      </div>
      <Section title="Jobs">
        <JobsList teamId={teamId} />
      </Section>
    </>
  );
}

function BalanceCard({ teamId }: { teamId: string }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const path = { params: { path: { team_id: teamId } } };
  const balance = useQuery({
    queryKey: ['team', teamId, 'balance'],
    queryFn: () => unwrap<Balance>(api.GET('/api/credits/teams/{team_id}/balance', path)),
  });
  const [credits, setCredits] = useState('');
  const [reason, setReason] = useState('');
  const add = useMutation({
    mutationFn: () =>
      unwrap<{ balance: Balance }>(
        api.POST('/api/credits/teams/{team_id}/add', {
          params: { path: { team_id: teamId }, header: { 'Idempotency-Key': crypto.randomUUID() } },
          body: { credits: Number(credits), reason: reason.trim() || undefined },
        }),
      ),
    onSuccess: () => {
      setCredits('');
      setReason('');
      return queryClient.invalidateQueries({ queryKey: ['team', teamId] });
    },
  });
  const b = balance.data;
  return (
    <Section title="Balance">
      {balance.isPending ? <Loading what="balance" /> : <ErrorText error={balance.error} />}
      {b && (
        <dl className="stats">
          <div>
            <dt>Remaining</dt>
            <dd data-testid="credits-remaining">{fmt.credits(b.credits_remaining)}</dd>
          </div>
          <div>
            <dt>Allocated</dt>
            <dd>{fmt.credits(b.credits_allocated)}</dd>
          </div>
          <div>
            <dt>Used</dt>
            <dd>{fmt.credits(b.credits_used)}</dd>
          </div>
          <div>
            <dt>Held</dt>
            <dd>{fmt.credits(b.credits_held)}</dd>
          </div>
        </dl>
      )}
      <form
        className="row wrap"
        aria-label="Add credits"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <label>
          Credits to add
          <input
            type="number"
            min={0}
            step="any"
            required
            value={credits}
            onChange={(e) => setCredits(e.target.value)}
          />
        </label>
        <label>
          Reason
          <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <button type="submit" disabled={add.isPending}>
          Add credits
        </button>
      </form>
      <ErrorText error={add.error} />
    </Section>
  );
}

function KeysCard({ teamId }: { teamId: string }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const keys = useQuery({
    queryKey: ['team', teamId, 'keys'],
    queryFn: () =>
      listAll<VirtualKey>((cursor) =>
        api.GET('/api/teams/{team_id}/keys', {
          params: { path: { team_id: teamId }, query: { limit: 200, cursor } },
        }),
      ),
  });
  const [alias, setAlias] = useState('');
  const [duration, setDuration] = useState('');
  const [issued, setIssued] = useState<IssuedKey | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['team', teamId, 'keys'] });
  const create = useMutation({
    mutationFn: () =>
      unwrap<IssuedKey>(
        api.POST('/api/teams/{team_id}/keys', {
          params: { path: { team_id: teamId } },
          body: { key_alias: alias.trim() || undefined, duration: duration.trim() || undefined },
        }),
      ),
    onSuccess: (key) => {
      setIssued(key);
      setAlias('');
      setDuration('');
      return refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (keyId: string) =>
      unwrap<IssuedKey>(
        api.POST('/api/keys/{key_id}/rotate', { params: { path: { key_id: keyId } }, body: {} }),
      ),
    onSuccess: (key) => {
      setIssued(key);
      return refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) =>
      unwrap(api.DELETE('/api/keys/{key_id}', { params: { path: { key_id: keyId } } })),
    onSuccess: refresh,
  });

  return (
    <Section title="Keys">
      {issued && <NewKey secret={issued.virtual_key} onDone={() => setIssued(null)} />}
      {keys.isPending ? <Loading what="keys" /> : <ErrorText error={keys.error} />}
      <div className="table-wrap">
        <table aria-label="Keys">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Spend
              </th>
              <th scope="col" className="hide-narrow">
                Last used
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.map((k) => (
              <tr key={k.key_id}>
                <td>
                  {k.key_alias ?? <span className="muted">no alias</span>}
                  <div className="small mono">{k.masked_key}</div>
                </td>
                <td>
                  <StatusBadge status={k.expired && k.status === 'active' ? 'expired' : k.status} />
                </td>
                <td className="num">{fmt.credits(k.total_spend)}</td>
                <td className="small hide-narrow">{fmt.time(k.last_used_at)}</td>
                <td className="actions">
                  {k.status === 'active' && (
                    <>
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Rotate key ${k.key_alias ?? k.masked_key}`}
                        onClick={() => rotate.mutate(k.key_id)}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Revoke key ${k.key_alias ?? k.masked_key}`}
                        onClick={() => {
                          if (
                            window.confirm(
                              `Revoke key ${k.key_alias ?? k.masked_key}? Calls with it fail at once.`,
                            )
                          ) {
                            revoke.mutate(k.key_id);
                          }
                        }}
                      >
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorText error={rotate.error ?? revoke.error} />
      <form
        className="row wrap"
        aria-label="New key"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label>
          Key alias
          <input value={alias} onChange={(e) => setAlias(e.target.value)} />
        </label>
        <label>
          Expires after
          <input
            value={duration}
            placeholder="e.g. 30d"
            onChange={(e) => setDuration(e.target.value)}
          />
        </label>
        <button type="submit" disabled={create.isPending}>
          Create key
        </button>
      </form>
      <ErrorText error={create.error} />
    </Section>
  );
}

function ModelGroupsCard({ team }: { team: Team }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const groups = useQuery({
    queryKey: ['model-groups'],
    queryFn: () =>
      listAll<ModelGroup>((cursor) =>
        api.GET('/api/model-groups', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const [chosen, setChosen] = useState(team.model_groups);
  const save = useMutation({
    mutationFn: () =>
      unwrap<Team>(
        api.PUT('/api/teams/{team_id}/model-groups', {
          params: { path: { team_id: team.team_id } },
          body: { model_groups: chosen },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['team', team.team_id] }),
  });
  const names = [
    ...new Set([...(groups.data ?? []).map((g) => g.group_name), ...team.model_groups]),
  ];
  return (
    <Section title="Model groups">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <fieldset>
          <legend className="sr-only">Model groups the team may use</legend>
          {names.length === 0 && <p className="muted">No model groups exist yet.</p>}
          {names.map((name) => (
            <label key={name} className="check">
              <input
                type="checkbox"
                checked={chosen.includes(name)}
                onChange={(e) =>
                  setChosen(e.target.checked ? [...chosen, name] : chosen.filter((c) => c !== name))
                }
              />
              {name}
            </label>
          ))}
        </fieldset>
        <ErrorText error={save.error} />
        <button type="submit" disabled={save.isPending}>
          Save model groups
        </button>
        {save.isSuccess && <span role="status"> Saved.</span>}
      </form>
    </Section>
  );
}

const MODES: BudgetMode[] = ['job_based', 'consumption_usd', 'consumption_tokens'];

function BudgetCard({ team }: { team: Team }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<BudgetMode>(team.budget_mode);
  const [perDollar, setPerDollar] = useState(String(team.credits_per_dollar));
  const [perCredit, setPerCredit] = useState(String(team.tokens_per_credit));
  const save = useMutation({
    mutationFn: () =>
      unwrap<Balance>(
        api.PATCH('/api/credits/teams/{team_id}/budget-mode', {
          params: { path: { team_id: team.team_id } },
          body: {
            budget_mode: mode,
            credits_per_dollar: Number(perDollar),
            tokens_per_credit: Number(perCredit),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['team', team.team_id] }),
  });
  return (
    <Section title="Budget mode">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.target.value as BudgetMode)}>
            {MODES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Credits per dollar (consumption_usd)
          <input
            type="number"
            min={0}
            step="any"
            value={perDollar}
            onChange={(e) => setPerDollar(e.target.value)}
          />
        </label>
        <label>
          Tokens per credit (consumption_tokens)
          <input
            type="number"
            min={1}
            step={1}
            value={perCredit}
            onChange={(e) => setPerCredit(e.target.value)}
          />
        </label>
        <ErrorText error={save.error} />
        <div>
          <button type="submit" disabled={save.isPending}>
            Save budget mode
          </button>
          {save.isSuccess && <span role="status"> Saved.</span>}
        </div>
      </form>
    </Section>
  );
}

function AutoRefillCard({ teamId }: { teamId: string }) {
  const api = useApi();
  const [enabled, setEnabled] = useState(false);
  const [amount, setAmount] = useState('100');
  const [period, setPeriod] = useState<'daily' | 'weekly' | 'monthly'>('monthly');
  const save = useMutation({
    mutationFn: () =>
      unwrap<AutoRefillSettings>(
        api.POST('/api/credits/teams/{team_id}/configure-auto-refill', {
          params: { path: { team_id: teamId } },
          body: enabled
            ? { enabled, refill_amount: Number(amount), refill_period: period }
            : { enabled },
        }),
      ),
  });
  const s = save.data;
  return (
    <Section title="Auto-refill">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Refill automatically
        </label>
        <p className="muted small">
          The API does not report the current schedule: saving replaces it (unchecked turns it off).
        </p>
        <label>
          Credits per refill
          <input
            type="number"
            min={1}
            step={1}
            disabled={!enabled}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        </label>
        <label>
          Period
          <select
            disabled={!enabled}
            value={period}
            onChange={(e) => setPeriod(e.target.value as typeof period)}
          >
            <option value="daily">daily</option>
            <option value="weekly">weekly</option>
            <option value="monthly">monthly</option>
          </select>
        </label>
        <ErrorText error={save.error} />
        <div>
          <button type="submit" disabled={save.isPending}>
            Save auto-refill
          </button>
        </div>
        {s && (
          <p role="status">
            {s.enabled
              ? `On: ${s.refill_amount ?? 0} credits ${s.refill_period ?? ''}, next ${fmt.time(s.next_refill_at)}.`
              : 'Auto-refill is off.'}
          </p>
        )}
      </form>
    </Section>
  );
}

function LedgerCard({ teamId }: { teamId: string }) {
  const api = useApi();
  const ledger = useQuery({
    queryKey: ['team', teamId, 'ledger'],
    queryFn: () =>
      unwrap<{ data: LedgerEntry[]; next_cursor: string | null }>(
        api.GET('/api/credits/teams/{team_id}/transactions', {
          params: { path: { team_id: teamId }, query: { limit: 20 } },
        }),
      ),
  });
  return (
    <Section title="Ledger">
      {ledger.isPending ? <Loading what="ledger" /> : <ErrorText error={ledger.error} />}
      <div className="table-wrap">
        <table aria-label="Ledger">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Credits
              </th>
              <th scope="col" className="num">
                After
              </th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {ledger.data?.data.map((e) => (
              <tr key={e.transaction_id}>
                <td className="small">{fmt.time(e.created_at)}</td>
                <td>{e.transaction_type}</td>
                <td className="num">{fmt.credits(e.credits_amount)}</td>
                <td className="num">{fmt.credits(e.credits_after)}</td>
                <td className="small">{e.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {ledger.data?.next_cursor && <p className="muted small">Showing the newest 20 entries.</p>}
    </Section>
  );
}
