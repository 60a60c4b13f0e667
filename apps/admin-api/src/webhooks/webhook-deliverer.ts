import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CredentialCipher } from '@app/auth';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import type { WebhookEventType } from '@app/db';
import { retryDelayMs, SIGNATURE_HEADER, signatureHeader } from './webhook-signature';

/** Deliveries one worker claims per round (sent concurrently). */
const BATCH = 20;
/** A claimed delivery is not claimed again before its attempt's timeout plus this margin. */
const CLAIM_MARGIN_SECONDS = 30;

interface ClaimedRow {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  attempts: number;
  url: string;
  secret_encrypted: string;
  encryption_key_id: string;
  event_type: WebhookEventType;
  data: Record<string, unknown>;
  event_created_at: Date;
}

interface Outcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

/**
 * Sends the outbox: claims due deliveries with FOR UPDATE SKIP LOCKED (any number of admin-api
 * processes share the work, none sends a delivery another holds), POSTs the signed event, then
 * records the outcome: delivered, retried after an exponential backoff with jitter, or failed
 * after WEBHOOK_MAX_ATTEMPTS. At least once: a receiver dedupes on Tollgate-Event-Id.
 */
@Injectable()
export class WebhookDeliverer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliverer.name);
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: CredentialCipher,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.deliverDue()
        .catch((err: Error) => this.logger.error(`Webhook delivery round failed: ${err.message}`))
        .finally(() => {
          this.round = null;
          this.schedule();
        });
    }, this.config.webhooks.pollIntervalMs);
  }

  /** Sends every due delivery, a batch at a time, until none is due. */
  async deliverDue(): Promise<void> {
    for (;;) {
      const claimed = await this.claim();
      await Promise.all(claimed.map((row) => this.deliver(row)));
      if (claimed.length < BATCH || this.stopped) return;
    }
  }

  private claim(): Promise<ClaimedRow[]> {
    const claimSeconds = this.config.webhooks.timeoutMs / 1000 + CLAIM_MARGIN_SECONDS;
    return this.db.query(
      `WITH due AS (
         SELECT d.delivery_id FROM webhook_deliveries d
           JOIN webhooks w ON w.webhook_id = d.webhook_id AND w.enabled
          WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          ORDER BY d.next_attempt_at
          LIMIT $1
          FOR UPDATE OF d SKIP LOCKED
       ),
       claimed AS (
         UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1, last_attempt_at = now(),
                next_attempt_at = now() + make_interval(secs => $2::float8)
           FROM due WHERE d.delivery_id = due.delivery_id
         RETURNING d.delivery_id, d.webhook_id, d.event_id, d.attempts
       )
       SELECT c.delivery_id, c.webhook_id, c.event_id, c.attempts, w.url, w.secret_encrypted,
              w.encryption_key_id, e.event_type, e.data, e.created_at AS event_created_at
         FROM claimed c
         JOIN webhooks w ON w.webhook_id = c.webhook_id
         JOIN webhook_events e ON e.event_id = c.event_id`,
      [BATCH, claimSeconds],
    );
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    const outcome = await this.post(row);
    const { maxAttempts, retryBaseMs } = this.config.webhooks;
    const status = outcome.ok ? 'delivered' : row.attempts >= maxAttempts ? 'failed' : 'pending';
    const delaySeconds = status === 'pending' ? retryDelayMs(row.attempts, retryBaseMs) / 1000 : 0;
    // Only the claim that made this attempt records it (attempts matches).
    await this.db.query(
      `UPDATE webhook_deliveries
          SET status = $3::varchar, last_status_code = $4, last_error = $5,
              delivered_at = CASE WHEN $3::varchar = 'delivered' THEN now() END,
              next_attempt_at = now() + make_interval(secs => $6::float8)
        WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'`,
      [row.delivery_id, row.attempts, status, outcome.statusCode, outcome.error, delaySeconds],
    );
    if (!outcome.ok) {
      this.logger.warn(
        `Webhook ${row.webhook_id} delivery ${row.delivery_id} attempt ${row.attempts} failed (${outcome.error}); ${status === 'failed' ? 'giving up' : `retry in ${Math.round(delaySeconds)} s`}`,
      );
    }
  }

  private async post(row: ClaimedRow): Promise<Outcome> {
    let secret: string;
    try {
      secret = this.cipher.decrypt({
        ciphertext: row.secret_encrypted,
        keyId: row.encryption_key_id,
      });
    } catch (err) {
      return { ok: false, statusCode: null, error: `Secret unreadable: ${(err as Error).message}` };
    }
    const body = JSON.stringify({
      id: row.event_id,
      type: row.event_type,
      created_at: row.event_created_at.toISOString(),
      data: row.data,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        // a redirect could lead anywhere (an internal address): it counts as a failure
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.webhooks.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tollgate-Webhooks/1',
          'tollgate-event-id': row.event_id,
          'tollgate-event-type': row.event_type,
          'tollgate-delivery-id': row.delivery_id,
          'tollgate-delivery-attempt': String(row.attempts),
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(secret, timestamp, body),
        },
        body,
      });
      await res.body?.cancel().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 300;
      return { ok, statusCode: res.status, error: ok ? null : `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, statusCode: null, error: describe(err) };
    }
  }
}

/** A network failure in a few words (never the URL, which may carry a token). */
function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'Timed out';
  const detail = e.cause?.code ?? e.cause?.message ?? e.message ?? 'Request failed';
  return `Connection failed: ${detail}`.slice(0, 500);
}
