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
import { numeric } from './transformers';
import { Team } from './team.entity';

export type KeyStatus = 'active' | 'revoked';

@Entity('virtual_keys')
export class VirtualKey {
  @PrimaryGeneratedColumn('uuid', { name: 'key_id' })
  keyId!: string;

  @Index()
  @Column({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  /** SHA-256 of the key, hex. The key itself is never stored. */
  @Index({ unique: true })
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  @Column({ name: 'masked_key', type: 'varchar', length: 32 })
  maskedKey!: string;

  @Column({ name: 'key_alias', type: 'varchar', length: 255, nullable: true })
  keyAlias!: string | null;

  /** Allow-list of model/group names; empty = every model of the team. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  models!: string[];

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'max_budget', type: 'bigint', nullable: true, transformer: numeric })
  maxBudget!: number | null;

  @Column({ name: 'budget_duration', type: 'varchar', length: 16, nullable: true })
  budgetDuration!: string | null;

  /** Start of the current budget window; spend resets when budget_duration has passed. */
  @Column({ name: 'budget_window_start', type: 'timestamptz', nullable: true })
  budgetWindowStart!: Date | null;

  /** Credits spent in the current budget window. */
  @Column({ type: 'bigint', default: 0, transformer: numeric })
  spend!: number;

  /** Credits held by in-flight calls against this key's budget. */
  @Column({ name: 'spend_held', type: 'bigint', default: 0, transformer: numeric })
  spendHeld!: number;

  @Column({ name: 'total_spend', type: 'bigint', default: 0, transformer: numeric })
  totalSpend!: number;

  @Column({ name: 'rpm_limit', type: 'integer', nullable: true })
  rpmLimit!: number | null;

  @Column({ name: 'tpm_limit', type: 'integer', nullable: true })
  tpmLimit!: number | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: KeyStatus;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** Set on the old key by rotation: it stays valid until then. */
  @Column({ name: 'grace_expires_at', type: 'timestamptz', nullable: true })
  graceExpiresAt!: Date | null;

  @Column({ name: 'rotated_to', type: 'uuid', nullable: true })
  rotatedTo!: string | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => Team, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;
}
