/**
 * The books after the load, read from the bench database once every gateway has exited:
 * the ledger matches the balance, nothing is left held, and what was charged is what the calls
 * the client saw succeed should cost.
 */
import type { Client } from 'pg';

export interface BenchTeam {
  id: string;
  key: string;
  mode: 'job_based' | 'consumption_usd';
  /** What the client was served, in credits (job_based: jobs completed; consumption: Σ call prices). */
  served: number;
  /** Metered requests that failed on the client's side: they may or may not have been charged. */
  unclear: number;
}

export interface Check {
  team: string;
  check: string;
  pass: boolean;
  detail: string;
}

interface TeamRow {
  team_id: string;
  allocated: string;
  used: string;
  held: string;
  ledger: string;
  open_holds: number;
  completed_jobs: number;
  open_jobs: number;
  priced_calls: string;
}

/**
 * `priced_calls`: each successful call priced again from its tokens and the prices recorded on
 * it, with the team's markup and credits_per_dollar, rounded up per call.
 */
const TEAM_BOOKS = `
  SELECT t.team_id, t.credits_allocated AS allocated, t.credits_used AS used, t.credits_held AS held,
         (SELECT COALESCE(sum(credits_amount), 0) FROM credit_transactions c WHERE c.team_id = t.team_id) AS ledger,
         (SELECT count(*)::int FROM credit_holds h WHERE h.team_id = t.team_id) AS open_holds,
         (SELECT count(*)::int FROM jobs j WHERE j.team_id = t.team_id AND j.status = 'completed') AS completed_jobs,
         (SELECT count(*)::int FROM jobs j WHERE j.team_id = t.team_id AND j.status IN ('pending', 'in_progress')) AS open_jobs,
         (SELECT COALESCE(sum(ceil(((l.prompt_tokens * l.input_price_per_million
                                     + l.completion_tokens * l.output_price_per_million) / 1000000)
                                   * (1 + t.cost_markup_percentage::numeric / 100)
                                   * t.credits_per_dollar::numeric - 0.000000001)), 0)
            FROM llm_calls l WHERE l.team_id = t.team_id AND l.status = 'success') AS priced_calls
    FROM teams t`;

export async function checkBooks(
  pg: Client,
  teams: BenchTeam[],
  syntheticOrg: string | null,
): Promise<Check[]> {
  const checks: Check[] = [];
  const rows = await pg.query<TeamRow>(`${TEAM_BOOKS} WHERE t.team_id = ANY($1)`, [
    teams.map((t) => t.id),
  ]);
  const byId = new Map(rows.rows.map((r) => [r.team_id, r]));
  for (const team of teams) {
    const r = byId.get(team.id);
    if (!r) {
      checks.push({ team: team.id, check: 'team exists', pass: false, detail: 'no row' });
      continue;
    }
    const allocated = Number(r.allocated);
    const used = Number(r.used);
    const held = Number(r.held);
    const ledger = Number(r.ledger);
    checks.push({
      team: team.id,
      check: 'ledger sum = credits_allocated − credits_used',
      pass: ledger === allocated - used,
      detail: `${ledger} vs ${allocated} − ${used} = ${allocated - used}`,
    });
    checks.push({
      team: team.id,
      check: 'credits_held = 0 and no hold rows (gateways stopped)',
      pass: held === 0 && r.open_holds === 0,
      detail: `credits_held ${held}, hold rows ${r.open_holds}, open jobs ${r.open_jobs}`,
    });
    const unclear =
      team.unclear > 0 ? `; ${team.unclear} failed request(s) may or may not be charged` : '';
    checks.push({
      team: team.id,
      check: 'credits charged = what the calls served cost',
      pass: used === team.served,
      detail:
        team.mode === 'job_based'
          ? `credits_used ${used}, jobs the client saw completed ${team.served}${unclear}`
          : `credits_used ${used}, Σ per-call price of the answers the client got ${team.served}${unclear}`,
    });
    if (team.mode === 'job_based') {
      checks.push({
        team: team.id,
        check: 'job_based: completed jobs = credits_used',
        pass: r.completed_jobs === used,
        detail: `${r.completed_jobs} completed jobs, credits_used ${used}`,
      });
    } else {
      checks.push({
        team: team.id,
        check: 'consumption: credits_used = Σ successful calls repriced from their tokens',
        pass: Number(r.priced_calls) === used,
        detail: `repriced ${Number(r.priced_calls)}, credits_used ${used}`,
      });
    }
  }
  if (syntheticOrg) {
    const synthetic = await pg.query<
      Pick<TeamRow, 'team_id' | 'allocated' | 'used' | 'held' | 'ledger'>
    >(
      `SELECT t.team_id, t.credits_allocated AS allocated, t.credits_used AS used,
              t.credits_held AS held, COALESCE(l.sum, 0) AS ledger
         FROM teams t
         LEFT JOIN (SELECT team_id, sum(credits_amount) FROM credit_transactions GROUP BY team_id) l
           ON l.team_id = t.team_id
        WHERE t.organization_id = $1`,
      [syntheticOrg],
    );
    const bad = synthetic.rows.filter(
      (r) => Number(r.ledger) !== Number(r.allocated) - Number(r.used) || Number(r.held) !== 0,
    );
    checks.push({
      team: `${synthetic.rows.length} analytics teams (rows written in SQL)`,
      check: 'ledger sum = credits_allocated − credits_used, nothing held',
      pass: synthetic.rows.length > 0 && bad.length === 0,
      detail: bad.length ? `off: ${bad.map((r) => r.team_id).join(', ')}` : 'all balance',
    });
  }
  return checks;
}
