import type { DataSource, EntityManager } from 'typeorm';
import { returning } from '@app/db';
import type { BudgetMode, JobStatus } from '@app/db';
import { BudgetSettings, callCosts, consumptionCredits } from './charges';

export interface HoldRequest {
  jobId: string;
  teamId: string;
  /** Estimated prompt and completion tokens, and the highest prices the call may be routed to. */
  promptTokens: number;
  completionTokens: number;
  /**
   * Completion tokens the team must be able to pay for (the client's max_tokens, else 0): the
   * hold is the full estimate when affordable, else what is available down to this minimum.
   */
  requiredCompletionTokens: number;
  inputPricePerMillion: number;
  outputPricePerMillion: number;
  /** Lifetime of a call hold (crashed requests' holds expire), and of a job_based job hold. */
  callHoldSeconds: number;
  jobHoldSeconds: number;
  /**
   * Set when the key has a budget: the hold is cut to what the key has left (like the team's
   * balance, refused when even the required part does not fit) and counts against its spend_held.
   */
  budgetKeyId: string | null;
  /**
   * The team's budget settings as the caller last saw them (a cache): the hold uses them instead
   * of reading them first, and reads them again only when they no longer match (an admin edit).
   */
  settings?: BudgetSettings;
}

export type HoldOutcome =
  | { kind: 'job_not_found' }
  | { kind: 'other_team' }
  | { kind: 'job_closed'; status: JobStatus }
  | { kind: 'insufficient'; credits: number }
  | { kind: 'key_budget' }
  /** holdId null + credits 0: nothing to hold (a job_based job already holding its credit). */
  | { kind: 'held'; holdId: string | null; credits: number; settings: BudgetSettings };

interface HoldRow {
  job_team: string | null;
  job_status: JobStatus | null;
  budget_mode: BudgetMode | null;
  credits_per_dollar: number | null;
  tokens_per_credit: number | null;
  cost_markup_percentage: number | null;
  amount: string | null;
  key_short: boolean | null;
  hold_id: string | null;
}

/** The key's budget window has passed (evaluated on the row being updated, so race-free). */
const ROLLED = `(v.budget_duration IS NOT NULL AND v.budget_window_start IS NOT NULL
  AND v.budget_window_start + v.budget_duration::interval <= now())`;

/**
 * ONE statement: locks the job and team rows, computes what the call may cost from the team's
 * budget mode (job_based: the job's single credit, only while the job is pending; consumption:
 * the estimate, at least 1), reserves it with a conditional UPDATE of the team, starts the job
 * (pending → in_progress) and records the hold. Nothing happens unless the team can pay.
 */
export async function holdForCall(
  db: DataSource | EntityManager,
  req: HoldRequest,
): Promise<HoldOutcome> {
  let known = req.settings;
  for (let attempt = 1; ; attempt++) {
    const settings = known ?? (await budgetSettings(db, req.teamId));
    known = undefined;
    const outcome = await holdWith(db, req, settings);
    // null: the team's budget settings changed between the read and the hold (an admin edit)
    if (outcome) return outcome;
    if (attempt >= 5)
      throw new Error(`holdForCall: budget settings of ${req.teamId} keep changing`);
  }
}

/** The team's settings as they are now (a missing team: settings no row matches). */
async function budgetSettings(
  db: DataSource | EntityManager,
  teamId: string,
): Promise<BudgetSettings> {
  const rows: Array<{
    budget_mode: BudgetMode;
    credits_per_dollar: number;
    tokens_per_credit: number;
    cost_markup_percentage: number;
  }> = await db.query(
    `SELECT budget_mode, credits_per_dollar, tokens_per_credit, cost_markup_percentage
       FROM teams WHERE team_id = $1`,
    [teamId],
  );
  const row = rows[0];
  return {
    budgetMode: row?.budget_mode ?? 'job_based',
    creditsPerDollar: row ? Number(row.credits_per_dollar) : -1,
    tokensPerCredit: row ? Number(row.tokens_per_credit) : -1,
    markupPercentage: row ? Number(row.cost_markup_percentage) : -1,
  };
}

/** What a consumption call is held for: its charge at the estimate (consumptionCredits), ≥ 1. */
function estimate(settings: BudgetSettings, req: HoldRequest, completionTokens: number): number {
  const prompt = Math.max(0, Math.ceil(req.promptTokens));
  const completion = Math.max(0, Math.ceil(completionTokens));
  const prices = {
    inputPerMillion: req.inputPricePerMillion,
    outputPerMillion: req.outputPricePerMillion,
  };
  const { clientCostUsd } = callCosts(prompt, completion, prices, settings.markupPercentage);
  return Math.max(1, consumptionCredits(settings, clientCostUsd, prompt + completion));
}

async function holdWith(
  db: DataSource | EntityManager,
  req: HoldRequest,
  settings: BudgetSettings,
): Promise<HoldOutcome | null> {
  const rows: HoldRow[] = await db.query(
    `WITH j AS (
       SELECT job_id, team_id, status FROM jobs WHERE job_id = $1 FOR NO KEY UPDATE
     ),
     ts AS (
       -- the consumption amounts were computed from these settings: a change since voids them
       SELECT t.budget_mode, t.credits_per_dollar, t.tokens_per_credit, t.cost_markup_percentage,
              t.credits_allocated - t.credits_used - t.credits_held AS available,
              (CASE WHEN t.budget_mode <> 'job_based' THEN $3::bigint
                    WHEN j.status = 'pending' THEN 1 ELSE 0 END)::bigint AS wanted,
              (CASE WHEN t.budget_mode <> 'job_based' THEN $4::bigint
                    WHEN j.status = 'pending' THEN 1 ELSE 0 END)::bigint AS required
         FROM teams t JOIN j ON j.team_id = t.team_id AND j.status IN ('pending', 'in_progress')
        WHERE t.team_id = $2 AND t.budget_mode = $10 AND t.credits_per_dollar = $5
          AND t.tokens_per_credit = $6 AND t.cost_markup_percentage = $11
          FOR UPDATE OF t
     ),
     kb AS (
       -- what the budget key may still hold (a plain read: holdKeyBudget's UPDATE enforces it)
       SELECT (CASE WHEN v.max_budget IS NULL THEN NULL ELSE GREATEST(0,
                 v.max_budget - (CASE WHEN ${ROLLED} THEN 0 ELSE v.spend END) - v.spend_held) END)::bigint AS key_left
         FROM virtual_keys v WHERE v.key_id = $9::uuid
     ),
     amt AS (
       SELECT ts.*,
              LEAST(ts.wanted, COALESCE(kb.key_left, ts.wanted), GREATEST(ts.available, ts.required))::bigint AS amount,
              (kb.key_left IS NOT NULL AND kb.key_left < LEAST(ts.wanted, ts.required)) AS key_short
         FROM ts LEFT JOIN kb ON true
     ),
     held AS (
       UPDATE teams t SET credits_held = t.credits_held + amt.amount, updated_at = now()
         FROM amt
        WHERE t.team_id = $2 AND amt.amount > 0 AND NOT amt.key_short
          AND t.credits_allocated - t.credits_used - t.credits_held >= amt.amount
       RETURNING t.team_id
     ),
     started AS (
       UPDATE jobs SET status = 'in_progress', started_at = now(), updated_at = now()
        WHERE job_id = $1 AND status = 'pending'
          AND (EXISTS (SELECT 1 FROM held) OR (SELECT amount FROM amt) = 0)
       RETURNING job_id
     ),
     hold AS (
       INSERT INTO credit_holds (team_id, job_id, key_id, credits, expires_at)
       SELECT $2, CASE WHEN amt.budget_mode = 'job_based' THEN $1::uuid END, $9::uuid, amt.amount,
              now() + make_interval(secs => CASE WHEN amt.budget_mode = 'job_based' THEN $8::float8 ELSE $7::float8 END)
         FROM amt CROSS JOIN held
       RETURNING hold_id
     )
     SELECT (SELECT team_id FROM j) AS job_team, (SELECT status FROM j) AS job_status,
            amt.budget_mode, amt.credits_per_dollar, amt.tokens_per_credit, amt.cost_markup_percentage,
            amt.amount, amt.key_short, (SELECT hold_id FROM hold) AS hold_id
       FROM (SELECT 1) AS one LEFT JOIN amt ON true`,
    [
      req.jobId,
      req.teamId,
      estimate(settings, req, req.completionTokens),
      estimate(settings, req, req.requiredCompletionTokens),
      settings.creditsPerDollar,
      settings.tokensPerCredit,
      req.callHoldSeconds,
      req.jobHoldSeconds,
      req.budgetKeyId,
      settings.budgetMode,
      settings.markupPercentage,
    ],
  );
  const row = rows[0];
  if (!row?.job_team) return { kind: 'job_not_found' };
  if (row.job_team !== req.teamId) return { kind: 'other_team' };
  if (row.job_status !== 'pending' && row.job_status !== 'in_progress') {
    return { kind: 'job_closed', status: row.job_status ?? 'failed' };
  }
  if (!row.budget_mode) return null;
  if (row.key_short) return { kind: 'key_budget' };
  const credits = Number(row.amount ?? 0);
  if (credits > 0 && !row.hold_id) return { kind: 'insufficient', credits };
  return {
    kind: 'held',
    holdId: row.hold_id,
    credits,
    settings: {
      budgetMode: row.budget_mode ?? 'job_based',
      creditsPerDollar: Number(row.credits_per_dollar),
      tokensPerCredit: Number(row.tokens_per_credit),
      markupPercentage: Number(row.cost_markup_percentage),
    },
  };
}

/**
 * Reserves `credits` against a key's max_budget in one conditional UPDATE; the window restarts
 * (spend back to 0) once budget_window_start + budget_duration has passed. false = over budget.
 */
export async function holdKeyBudget(
  db: DataSource | EntityManager,
  keyId: string,
  credits: number,
): Promise<boolean> {
  const rows = await returning(
    db,
    `UPDATE virtual_keys v
        SET spend = CASE WHEN ${ROLLED} THEN 0 ELSE v.spend END,
            budget_window_start = CASE
              WHEN ${ROLLED} OR (v.budget_window_start IS NULL AND v.budget_duration IS NOT NULL)
              THEN now() ELSE v.budget_window_start END,
            spend_held = v.spend_held + $2
      WHERE v.key_id = $1
        AND (v.max_budget IS NULL
             OR (CASE WHEN ${ROLLED} THEN 0 ELSE v.spend END) + v.spend_held + $2 <= v.max_budget)
     RETURNING v.key_id`,
    [keyId, credits],
  );
  return rows.length > 0;
}

/**
 * Releases expired call holds (requests that crashed before settling). Job holds are closed
 * with their job by the job sweep. SKIP LOCKED lets several replicas sweep at once.
 */
export async function releaseExpiredHolds(
  db: DataSource | EntityManager,
  limit = 500,
): Promise<number> {
  const rows: Array<{ released: string }> = await db.query(
    `WITH h AS (
       DELETE FROM credit_holds
        WHERE hold_id IN (SELECT hold_id FROM credit_holds
                           WHERE expires_at < now() AND job_id IS NULL
                           ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING team_id, key_id, credits
     ),
     per_team AS (SELECT team_id, sum(credits) AS credits FROM h GROUP BY team_id),
     per_key AS (SELECT key_id, sum(credits) AS credits FROM h WHERE key_id IS NOT NULL GROUP BY key_id),
     t AS (
       UPDATE teams SET credits_held = teams.credits_held - per_team.credits, updated_at = now()
         FROM per_team WHERE teams.team_id = per_team.team_id
       RETURNING teams.team_id
     ),
     k AS (
       UPDATE virtual_keys SET spend_held = GREATEST(0, virtual_keys.spend_held - per_key.credits)
         FROM per_key WHERE virtual_keys.key_id = per_key.key_id
       RETURNING virtual_keys.key_id
     )
     SELECT COALESCE(sum(credits), 0) AS released FROM h`,
    [limit],
  );
  return Number(rows[0]?.released ?? 0);
}

/**
 * Keeps the holds of calls still in flight on a live replica: their expiry moves to now() + ttl
 * (a dead replica's holds are not renewed and expire, then the sweep releases them).
 */
export async function renewHolds(
  db: DataSource | EntityManager,
  holdIds: string[],
  ttlSeconds: number,
): Promise<void> {
  if (holdIds.length === 0) return;
  await db.query(
    `UPDATE credit_holds SET expires_at = now() + make_interval(secs => $2::float8)
      WHERE hold_id = ANY($1::uuid[])`,
    [holdIds, ttlSeconds],
  );
}
