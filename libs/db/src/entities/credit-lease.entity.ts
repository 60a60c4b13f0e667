import {
  Check,
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

/**
 * A slice of a team's balance reserved by one gateway replica (counted in teams.credits_held);
 * renewed while the replica lives, given back when it expires. Never a ledger row.
 */
@Entity('credit_leases')
@Check('credit_leases_credits_non_negative', '"credits" >= 0')
export class CreditLease {
  @PrimaryGeneratedColumn('uuid', { name: 'lease_id' })
  leaseId!: string;

  @Index()
  @Column({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Index()
  @Column({ name: 'replica_id', type: 'varchar', length: 128 })
  replicaId!: string;

  @Column({ type: 'bigint', transformer: numeric })
  credits!: number;

  @Index()
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => Team, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;
}
