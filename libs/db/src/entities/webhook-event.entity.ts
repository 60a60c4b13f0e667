import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { WebhookEventType } from './webhook.entity';

/**
 * The outbox: one row per event, written in the transaction of the change it reports (SQL
 * function tollgate_emit_webhook_event, which also queues a delivery per subscribed webhook).
 */
@Entity('webhook_events')
export class WebhookEvent {
  @PrimaryGeneratedColumn('uuid', { name: 'event_id' })
  eventId!: string;

  @Column({ name: 'event_type', type: 'varchar', length: 64 })
  eventType!: WebhookEventType;

  @Column({ name: 'organization_id', type: 'varchar', length: 128, nullable: true })
  organizationId!: string | null;

  @Index()
  @Column({ name: 'team_id', type: 'varchar', length: 128, nullable: true })
  teamId!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  data!: Record<string, unknown>;

  /** Set for events that may happen only once (a key's budget window): a repeat is dropped. */
  @Index({ unique: true })
  @Column({ name: 'dedupe_key', type: 'varchar', length: 255, nullable: true })
  dedupeKey!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
