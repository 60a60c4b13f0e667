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

export const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

@Entity('jobs')
// (team_id, created_at) INCLUDE (status), by migration AnalyticsIndexes: TypeORM cannot express INCLUDE
@Index('IDX_jobs_team_created_usage', { synchronize: false })
@Index(['status', 'updatedAt'])
export class Job {
  @PrimaryGeneratedColumn('uuid', { name: 'job_id' })
  jobId!: string;

  @Column({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Column({ name: 'key_id', type: 'uuid', nullable: true })
  keyId!: string | null;

  @Column({ name: 'job_type', type: 'varchar', length: 255 })
  jobType!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 255, nullable: true })
  userId!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: JobStatus;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata!: Record<string, unknown>;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'credits_charged', type: 'bigint', default: 0, transformer: numeric })
  creditsCharged!: number;

  @Column({ name: 'credit_applied', type: 'boolean', default: false })
  creditApplied!: boolean;

  /** The complete response, replayed verbatim on a repeated complete. */
  @Column({ name: 'completion_result', type: 'jsonb', nullable: true })
  completionResult!: Record<string, unknown> | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => Team, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;
}
