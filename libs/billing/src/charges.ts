import type { DataSource, EntityManager } from 'typeorm';
import { LLM_CALL_COLUMNS } from '@app/db';
import type { BudgetMode, LlmCallColumns } from '@app/db';

/** The team settings that turn usage into credits. */
export interface BudgetSettings {
  budgetMode: BudgetMode;
  creditsPerDollar: number;
  tokensPerCredit: number;
  markupPercentage: number;
}

export interface Prices {
  inputPerMillion: number;
  outputPerMillion: number;
  /** Prompt tokens read from the provider's cache (null/absent: the input price). */
  cachedInputPerMillion?: number | null;
  /** Prompt tokens written to the provider's cache (null/absent: the input price). */
  cacheWritePerMillion?: number | null;
}

/** Of a call's prompt tokens, how many were read from / written to the provider's cache. */
export interface CacheTokens {
  cached?: number;
  cacheWrite?: number;
}

export interface Costs {
  providerCostUsd: number;
  clientCostUsd: number;
}

/** Float noise (0.1 + 0.2) must not push a ceil up a whole credit. */
const EPSILON = 1e-9;

const roundUsd = (usd: number) => Math.round(usd * 1e10) / 1e10;

/**
 * Provider cost from the deployment's per-million prices; client cost adds the team's markup.
 * `promptTokens` includes the cached and cache-written ones (OpenAI's convention): those are
 * billed at the cache prices, the rest at the input price; reasoning is inside completionTokens.
 */
export function callCosts(
  promptTokens: number,
  completionTokens: number,
  prices: Prices,
  markupPercentage: number,
  cache: CacheTokens = {},
): Costs {
  const cached = Math.min(Math.max(0, cache.cached ?? 0), promptTokens);
  const cacheWrite = Math.min(Math.max(0, cache.cacheWrite ?? 0), promptTokens - cached);
  const uncached = promptTokens - cached - cacheWrite;
  const provider =
    (uncached * prices.inputPerMillion +
      cached * (prices.cachedInputPerMillion ?? prices.inputPerMillion) +
      cacheWrite * (prices.cacheWritePerMillion ?? prices.inputPerMillion) +
      completionTokens * prices.outputPerMillion) /
    1e6;
  return {
    providerCostUsd: roundUsd(provider),
    clientCostUsd: roundUsd(provider * (1 + markupPercentage / 100)),
  };
}

/**
 * Credits a call costs in a consumption mode (job_based calls cost nothing per call):
 * ceil(client cost × credits_per_dollar) or ceil(tokens ÷ tokens_per_credit).
 */
export function consumptionCredits(
  settings: BudgetSettings,
  clientCostUsd: number,
  totalTokens: number,
): number {
  switch (settings.budgetMode) {
    case 'job_based':
      return 0;
    case 'consumption_usd':
      return Math.max(0, Math.ceil(clientCostUsd * settings.creditsPerDollar - EPSILON));
    case 'consumption_tokens':
      return Math.max(0, Math.ceil(totalTokens / settings.tokensPerCredit - EPSILON));
  }
}

/**
 * The most completion tokens `credits` pay for, after the prompt, in a consumption mode (the
 * inverse of consumptionCredits at the given prices); Infinity when output is free or the mode
 * does not charge per call. Used to cap max_tokens so a call never generates more than the team's
 * hold covers.
 */
export function affordableCompletionTokens(
  settings: BudgetSettings,
  credits: number,
  promptTokens: number,
  prices: Prices,
): number {
  switch (settings.budgetMode) {
    case 'job_based':
      return Infinity;
    case 'consumption_tokens':
      return Math.max(0, Math.floor(credits * settings.tokensPerCredit - promptTokens));
    case 'consumption_usd': {
      if (prices.outputPerMillion <= 0) return Infinity;
      const rate = settings.creditsPerDollar * (1 + settings.markupPercentage / 100);
      if (rate <= 0) return Infinity;
      const providerUsd = credits / rate;
      const forOutput = providerUsd * 1e6 - promptTokens * prices.inputPerMillion;
      return Math.max(0, Math.floor(forOutput / prices.outputPerMillion + EPSILON));
    }
  }
}

/**
 * One upstream attempt as stored in llm_calls (the entity's columns), but for credits_charged and
 * created_at: `charged` marks the one row of a call that carries its charge.
 */
export type CallRecord = Omit<LlmCallColumns, 'credits_charged' | 'created_at'> & {
  charged: boolean;
};

const RECORDED = LLM_CALL_COLUMNS.filter(
  (c) => c.name !== 'credits_charged' && c.name !== 'created_at',
);

export interface SettleInput {
  teamId: string;
  /** The key the charge is attributed to (virtual_keys.spend) unless the hold names its own. */
  keyId: string | null;
  jobId: string;
  /** Release this hold (a call's) … */
  holdId?: string | null;
  /** … or every hold of this job (the job_based job credit). */
  releaseJobHolds?: boolean;
  /** Credits due; the settle takes min(due, available + released). */
  due: number;
  reason: string;
  /** Attempt rows to insert in the same statement. */
  calls?: CallRecord[];
}

export interface Settlement {
  charged: number;
  released: number;
  /** credits_remaining after the settle. */
  remaining: number;
}

/** The columns of a CallRecord, for jsonb_to_recordset. */
export const CALL_COLUMNS = [...RECORDED.map((c) => `${c.name} ${c.type}`), 'charged boolean'].join(
  ', ',
);

/**
 * The INSERT of call rows (attempts) from `source` rows `r` shaped like CALL_COLUMNS; the row with
 * `charged` carries `charge` (an SQL expression) as its credits_charged, and a value a record
 * leaves out takes the column's default. Used by the exact settle and by the journal.
 */
export function insertCalls(charge: string, source: string): string {
  const value = (c: (typeof RECORDED)[number]) =>
    c.fallback === null ? `r.${c.name}` : `COALESCE(r.${c.name}, ${c.fallback})`;
  return `INSERT INTO llm_calls (${RECORDED.map((c) => c.name).join(', ')}, credits_charged)
       SELECT ${RECORDED.map(value).join(', ')}, CASE WHEN r.charged THEN ${charge} ELSE 0 END
         FROM ${source}`;
}

/**
 * Settles in ONE statement: releases the hold(s), takes the charge (capped at what the team can
 * pay), writes the ledger row, moves the key's spend and inserts the call rows. The team row is
 * locked (FOR UPDATE) before the charge is computed, so concurrent settles see each other.
 */
export async function settle(
  db: DataSource | EntityManager,
  input: SettleInput,
): Promise<Settlement> {
  const rows: Array<{ charged: string; released: string; remaining: string }> = await db.query(
    `WITH h AS (
       DELETE FROM credit_holds
        WHERE hold_id = $1::uuid OR ($2::boolean AND job_id = $3::uuid)
       RETURNING credits, key_id
     ),
     hs AS (
       SELECT COALESCE(sum(credits), 0)::bigint AS released,
              COALESCE(sum(credits) FILTER (WHERE key_id IS NOT NULL), 0)::bigint AS key_released,
              max(key_id::text)::uuid AS budget_key
         FROM h
     ),
     l AS (
       SELECT t.team_id, hs.released, hs.key_released, COALESCE(hs.budget_key, $6::uuid) AS key_id,
              LEAST($4::bigint, t.credits_allocated - t.credits_used - t.credits_held + hs.released) AS charge,
              t.credits_allocated - t.credits_used AS before,
              t.credits_allocated - t.credits_used - t.credits_held AS available,
              t.credits_allocated AS allocated, t.credits_used AS used, t.credits_held AS held
         FROM teams t CROSS JOIN hs
        WHERE t.team_id = $5
          FOR UPDATE OF t
     ),
     -- every column of the balance CHECK from the locked row: Postgres checks it on a tuple built
     -- from the snapshot's version (unset columns too) before it sees a refill or lease commit
     u AS (
       UPDATE teams t
          SET credits_allocated = l.allocated,
              credits_used = l.used + l.charge,
              credits_held = l.held - l.released,
              updated_at = now()
         FROM l
        WHERE t.team_id = l.team_id AND (l.charge > 0 OR l.released > 0)
       RETURNING t.team_id
     ),
     led AS (
       INSERT INTO credit_transactions
         (team_id, job_id, key_id, transaction_type, credits_amount, credits_before, credits_after, reason)
       SELECT l.team_id, $3::uuid, l.key_id, 'deduction', -l.charge, l.before, l.before - l.charge, $7
         FROM l WHERE l.charge > 0
       RETURNING transaction_id
     ),
     k AS (
       UPDATE virtual_keys v
          SET spend = v.spend + l.charge,
              total_spend = v.total_spend + l.charge,
              spend_held = GREATEST(0, v.spend_held - l.key_released)
         FROM l
        WHERE v.key_id = l.key_id AND (l.charge > 0 OR l.key_released > 0)
       RETURNING v.key_id
     ),
     c AS (
       ${insertCalls('COALESCE((SELECT charge FROM l), 0)', `jsonb_to_recordset($8::jsonb) AS r(${CALL_COLUMNS})`)}
       RETURNING call_id
     )
     SELECT l.charge AS charged, l.released, l.available + l.released - l.charge AS remaining
       FROM l`,
    [
      input.holdId ?? null,
      input.releaseJobHolds ?? false,
      input.jobId,
      Math.max(0, Math.floor(input.due)),
      input.teamId,
      input.keyId,
      input.reason,
      JSON.stringify(input.calls ?? []),
    ],
  );
  const row = rows[0];
  if (!row) throw new Error(`settle: team ${input.teamId} not found`);
  return {
    charged: Number(row.charged),
    released: Number(row.released),
    remaining: Number(row.remaining),
  };
}
