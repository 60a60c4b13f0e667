import type { DeliveryStatus, Webhook, WebhookEventType } from '@app/db';

/** A webhook as every response shows it: never its secret (only create and rotate return it). */
export function toWebhookResponse(webhook: Webhook) {
  return {
    webhook_id: webhook.webhookId,
    url: webhook.url,
    events: webhook.events,
    organization_id: webhook.organizationId,
    team_id: webhook.teamId,
    description: webhook.description,
    enabled: webhook.enabled,
    created_at: webhook.createdAt.toISOString(),
    updated_at: webhook.updatedAt.toISOString(),
  };
}

export type WebhookResponse = ReturnType<typeof toWebhookResponse>;

/** A webhook_deliveries row joined with its event, as the delivery log query returns it. */
export interface DeliveryRow {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  event_type: WebhookEventType;
  team_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
}

export function toDeliveryResponse(row: DeliveryRow) {
  return {
    delivery_id: row.delivery_id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event_type: row.event_type,
    team_id: row.team_id,
    status: row.status,
    attempts: row.attempts,
    /** When the next attempt is due; null once delivered or failed. */
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    last_attempt_at: row.last_attempt_at?.toISOString() ?? null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    delivered_at: row.delivered_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}
