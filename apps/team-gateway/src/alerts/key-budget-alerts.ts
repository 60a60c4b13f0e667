import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TollgateError } from '@app/http';

/** One replica reports a key's refusals at most this often (Postgres keeps one per window). */
const REPORT_EVERY_MS = 10_000;
const MAX_TRACKED_KEYS = 10_000;

/**
 * key.budget_exceeded: when a call is refused for its key's budget, the event is written after
 * the refusal, off the request (the client never waits for it), and once per budget window: the
 * dedupe key (key, window start, budget) makes Postgres drop repeats from any replica, and this
 * replica writes at most once per key every 10 s, so a client hammering a spent key costs nothing.
 */
@Injectable()
export class KeyBudgetAlerts implements BeforeApplicationShutdown {
  private readonly logger = new Logger(KeyBudgetAlerts.name);
  private readonly reported = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Called with whatever refused a call's hold; acts only on a key budget refusal. */
  refused(err: unknown, budgetKeyId: string | null): void {
    if (budgetKeyId === null) return;
    if (!(err instanceof TollgateError) || err.code !== 'KEY_BUDGET_EXCEEDED') return;
    const now = Date.now();
    if ((this.reported.get(budgetKeyId) ?? -Infinity) > now - REPORT_EVERY_MS) return;
    if (this.reported.size >= MAX_TRACKED_KEYS) this.reported.clear();
    this.reported.set(budgetKeyId, now);
    const write = this.emit(budgetKeyId)
      .catch((e: Error) => this.logger.warn(`key.budget_exceeded not recorded: ${e.message}`))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async emit(keyId: string): Promise<void> {
    await this.db.query(
      `SELECT tollgate_emit_webhook_event('key.budget_exceeded', t.organization_id, v.team_id,
                jsonb_build_object('key_id', v.key_id, 'key_alias', v.key_alias,
                                   'team_id', v.team_id, 'organization_id', t.organization_id,
                                   'max_budget', v.max_budget, 'spend', v.spend,
                                   'budget_duration', v.budget_duration,
                                   'budget_window_start', v.budget_window_start),
                'key.budget_exceeded:' || v.key_id || ':' ||
                  COALESCE(extract(epoch FROM v.budget_window_start)::text, 'lifetime') || ':' ||
                  COALESCE(v.max_budget::text, ''))
         FROM virtual_keys v JOIN teams t ON t.team_id = v.team_id
        WHERE v.key_id = $1`,
      [keyId],
    );
  }
}
