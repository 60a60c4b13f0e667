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
import type { Provider } from './provider-credential.entity';
import { numeric } from './transformers';
import { ProviderCredential } from './provider-credential.entity';

export type DeploymentStatus = 'active' | 'inactive';

/** One deployment of a public model name; several may share a model_name. */
@Entity('model_deployments')
export class ModelDeployment {
  @PrimaryGeneratedColumn('uuid', { name: 'model_id' })
  modelId!: string;

  @Index()
  @Column({ name: 'model_name', type: 'varchar', length: 255 })
  modelName!: string;

  @Column({ type: 'varchar', length: 32 })
  provider!: Provider;

  @Column({ name: 'provider_model', type: 'varchar', length: 255 })
  providerModel!: string;

  @Column({ name: 'credential_id', type: 'uuid', nullable: true })
  credentialId!: string | null;

  @Column({ name: 'api_base', type: 'varchar', length: 2048, nullable: true })
  apiBase!: string | null;

  @Column({
    name: 'input_price_per_million',
    type: 'numeric',
    precision: 18,
    scale: 6,
    transformer: numeric,
  })
  inputPricePerMillion!: number;

  @Column({
    name: 'output_price_per_million',
    type: 'numeric',
    precision: 18,
    scale: 6,
    transformer: numeric,
  })
  outputPricePerMillion!: number;

  /** Prompt tokens read from the provider's cache; null = the input price. */
  @Column({
    name: 'cached_input_price_per_million',
    type: 'numeric',
    precision: 18,
    scale: 6,
    nullable: true,
    transformer: numeric,
  })
  cachedInputPricePerMillion!: number | null;

  /** Prompt tokens written to the provider's cache; null = the input price. */
  @Column({
    name: 'cache_write_price_per_million',
    type: 'numeric',
    precision: 18,
    scale: 6,
    nullable: true,
    transformer: numeric,
  })
  cacheWritePricePerMillion!: number | null;

  @Column({ type: 'integer', default: 1 })
  weight!: number;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: DeploymentStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => ProviderCredential, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'credential_id' })
  credential?: ProviderCredential;
}
