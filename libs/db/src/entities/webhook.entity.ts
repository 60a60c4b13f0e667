import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { Organization } from './organization.entity';
import { Team } from './team.entity';

/** The events a webhook may subscribe to (SPEC §10 Alerts). */
export const WEBHOOK_EVENTS = [
  'team.balance_low',
  'key.budget_exceeded',
  'team.suspended',
  'credits.added',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** An operator's alert endpoint; null organization/team = every organization/team. */
@Entity('webhooks')
@Index(['createdAt', 'webhookId'])
export class Webhook {
  @PrimaryGeneratedColumn('uuid', { name: 'webhook_id' })
  webhookId!: string;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'text', array: true })
  events!: WebhookEventType[];

  @Index()
  @Column({ name: 'organization_id', type: 'varchar', length: 128, nullable: true })
  organizationId!: string | null;

  @Index()
  @Column({ name: 'team_id', type: 'varchar', length: 128, nullable: true })
  teamId!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  description!: string | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** AES-256-GCM (CredentialCipher): base64(iv | tag | ciphertext) of the signing secret. */
  @Column({ name: 'secret_encrypted', type: 'text' })
  secretEncrypted!: string;

  /** Id of the ENCRYPTION_KEY that sealed secret_encrypted. */
  @Column({ name: 'encryption_key_id', type: 'varchar', length: 32 })
  encryptionKeyId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => Organization, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'organization_id' })
  organization?: Organization;

  @ManyToOne(() => Team, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;
}
