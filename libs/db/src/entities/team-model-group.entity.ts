import { CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Team } from './team.entity';
import { ModelGroup } from './model-group.entity';

@Entity('team_model_groups')
export class TeamModelGroup {
  @PrimaryColumn({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Index()
  @PrimaryColumn({ name: 'group_name', type: 'varchar', length: 128 })
  groupName!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @ManyToOne(() => Team, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'team_id' })
  team?: Team;

  @ManyToOne(() => ModelGroup, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'group_name' })
  group?: ModelGroup;
}
