import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity('model_groups')
export class ModelGroup {
  @PrimaryColumn({ name: 'group_name', type: 'varchar', length: 128 })
  groupName!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  /** Model names in priority order. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  models!: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
