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

/** Credits reserved before an upstream request; settled or expired, never a ledger row. */
@Entity('credit_holds')
export class CreditHold {
  @PrimaryGeneratedColumn('uuid', { name: 'hold_id' })
  holdId!: string;

  @Index()
  @Column({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Index()
  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Column({ name: 'key_id', type: 'uuid', nullable: true })
  keyId!: string | null;

  @Column({ type: 'bigint', transformer: numeric })
  credits!: number;

  @Index()
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @ManyToOne(() => Team, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;
}
