import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { numeric } from './transformers';
import { Organization } from './organization.entity';

export const TEAM_STATUSES = ['active', 'suspended', 'paused', 'deleted'] as const;
export type TeamStatus = (typeof TEAM_STATUSES)[number];
export const BUDGET_MODES = ['job_based', 'consumption_usd', 'consumption_tokens'] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];
export const REFILL_PERIODS = ['daily', 'weekly', 'monthly'] as const;
export type RefillPeriod = (typeof REFILL_PERIODS)[number];

@Entity('teams')
@Check('teams_credits_non_negative', '"credits_allocated" - "credits_used" - "credits_held" >= 0')
@Check('teams_held_non_negative', '"credits_held" >= 0')
export class Team {
  @PrimaryColumn({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Index()
  @Column({ name: 'organization_id', type: 'varchar', length: 128 })
  organizationId!: string;

  @Column({ name: 'team_alias', type: 'varchar', length: 255, nullable: true })
  teamAlias!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: TeamStatus;

  @Column({ name: 'budget_mode', type: 'varchar', length: 32, default: 'job_based' })
  budgetMode!: BudgetMode;

  @Column({ name: 'credits_per_dollar', type: 'double precision', default: 10 })
  creditsPerDollar!: number;

  @Column({ name: 'tokens_per_credit', type: 'integer', default: 10000 })
  tokensPerCredit!: number;

  @Column({ name: 'cost_markup_percentage', type: 'double precision', default: 0 })
  costMarkupPercentage!: number;

  @Column({ name: 'rpm_limit', type: 'integer', nullable: true })
  rpmLimit!: number | null;

  @Column({ name: 'tpm_limit', type: 'integer', nullable: true })
  tpmLimit!: number | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata!: Record<string, unknown>;

  /** Total credits ever granted (allocation + refills + adjustments). */
  @Column({ name: 'credits_allocated', type: 'bigint', default: 0, transformer: numeric })
  creditsAllocated!: number;

  @Column({ name: 'credits_used', type: 'bigint', default: 0, transformer: numeric })
  creditsUsed!: number;

  @Column({ name: 'credits_held', type: 'bigint', default: 0, transformer: numeric })
  creditsHeld!: number;

  /** team.balance_low fires when allocated − used falls below this (null: no alert). */
  @Column({ name: 'balance_low_threshold', type: 'bigint', nullable: true, transformer: numeric })
  balanceLowThreshold!: number | null;

  /** Whether the next fall below the threshold fires (cleared by it, set again above it). */
  @Column({ name: 'balance_low_armed', type: 'boolean', default: true })
  balanceLowArmed!: boolean;

  @Column({ name: 'auto_refill_enabled', type: 'boolean', default: false })
  autoRefillEnabled!: boolean;

  @Column({ name: 'auto_refill_amount', type: 'integer', nullable: true })
  autoRefillAmount!: number | null;

  @Column({ name: 'auto_refill_period', type: 'varchar', length: 16, nullable: true })
  autoRefillPeriod!: RefillPeriod | null;

  @Index()
  @Column({ name: 'next_refill_at', type: 'timestamptz', nullable: true })
  nextRefillAt!: Date | null;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => Organization, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'organization_id' })
  organization?: Organization;
}
