import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { numeric } from './transformers';
import { Team } from './team.entity';

export const TRANSACTION_TYPES = [
  'allocation',
  'deduction',
  'refill',
  'refund',
  'adjustment',
] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

/** The ledger: one row per change of a team's balance, written in the same transaction. */
@Entity('credit_transactions')
// (team_id, created_at, transaction_id) INCLUDE (transaction_type, credits_amount), by migration
// AnalyticsIndexes: TypeORM cannot express INCLUDE
@Index('IDX_credit_transactions_team_created_usage', { synchronize: false })
export class CreditTransaction {
  @PrimaryGeneratedColumn('uuid', { name: 'transaction_id' })
  transactionId!: string;

  @Column({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Index()
  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Column({ name: 'key_id', type: 'uuid', nullable: true })
  keyId!: string | null;

  @Column({ name: 'transaction_type', type: 'varchar', length: 16 })
  transactionType!: TransactionType;

  /** Signed: + adds, − takes. */
  @Column({ name: 'credits_amount', type: 'bigint', transformer: numeric })
  creditsAmount!: number;

  @Column({ name: 'credits_before', type: 'bigint', transformer: numeric })
  creditsBefore!: number;

  @Column({ name: 'credits_after', type: 'bigint', transformer: numeric })
  creditsAfter!: number;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @ManyToOne(() => Team, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;
}
