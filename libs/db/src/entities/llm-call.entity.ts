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
import { Job } from './job.entity';

export type CallStatus = 'success' | 'error' | 'aborted';

/** One upstream attempt; a retried call leaves one row per attempt. */
@Entity('llm_calls')
// Created by migration AnalyticsIndexes (TypeORM cannot express INCLUDE columns or expression keys):
// (team_id, created_at) INCLUDE (every column the org analytics read), for sums over a window;
// (team_id, COALESCE(model_name, model_requested), job_id) INCLUDE (created_at, model_name,
// model_requested), for the distinct jobs per model without a sort.
@Index('IDX_llm_calls_team_created_usage', { synchronize: false })
@Index('IDX_llm_calls_team_model_job', { synchronize: false })
export class LlmCall {
  @PrimaryGeneratedColumn('uuid', { name: 'call_id' })
  callId!: string;

  @Index()
  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @Column({ name: 'key_id', type: 'uuid', nullable: true })
  keyId!: string | null;

  /** The model or group name the client asked for. */
  @Column({ name: 'model_requested', type: 'varchar', length: 255 })
  modelRequested!: string;

  @Column({ name: 'model_name', type: 'varchar', length: 255, nullable: true })
  modelName!: string | null;

  @Column({ name: 'model_id', type: 'uuid', nullable: true })
  modelId!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider!: string | null;

  @Column({ name: 'provider_model', type: 'varchar', length: 255, nullable: true })
  providerModel!: string | null;

  @Column({ type: 'integer', default: 1 })
  attempt!: number;

  @Column({ name: 'prompt_tokens', type: 'integer', default: 0 })
  promptTokens!: number;

  @Column({ name: 'completion_tokens', type: 'integer', default: 0 })
  completionTokens!: number;

  @Column({ name: 'total_tokens', type: 'integer', default: 0 })
  totalTokens!: number;

  /** Of prompt_tokens: read from the provider's cache. */
  @Column({ name: 'cached_tokens', type: 'integer', default: 0 })
  cachedTokens!: number;

  /** Of prompt_tokens: written to the provider's cache. */
  @Column({ name: 'cache_write_tokens', type: 'integer', default: 0 })
  cacheWriteTokens!: number;

  /** Of completion_tokens: spent on reasoning. */
  @Column({ name: 'reasoning_tokens', type: 'integer', default: 0 })
  reasoningTokens!: number;

  @Column({
    name: 'provider_cost_usd',
    type: 'numeric',
    precision: 20,
    scale: 10,
    default: 0,
    transformer: numeric,
  })
  providerCostUsd!: number;

  @Column({
    name: 'client_cost_usd',
    type: 'numeric',
    precision: 20,
    scale: 10,
    default: 0,
    transformer: numeric,
  })
  clientCostUsd!: number;

  @Column({
    name: 'input_price_per_million',
    type: 'numeric',
    precision: 18,
    scale: 6,
    nullable: true,
    transformer: numeric,
  })
  inputPricePerMillion!: number | null;

  @Column({
    name: 'output_price_per_million',
    type: 'numeric',
    precision: 18,
    scale: 6,
    nullable: true,
    transformer: numeric,
  })
  outputPricePerMillion!: number | null;

  @Column({ name: 'markup_percentage', type: 'double precision', default: 0 })
  markupPercentage!: number;

  @Column({ name: 'credits_charged', type: 'bigint', default: 0, transformer: numeric })
  creditsCharged!: number;

  @Column({ name: 'latency_ms', type: 'integer', default: 0 })
  latencyMs!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: CallStatus;

  @Column({ name: 'error_class', type: 'varchar', length: 64, nullable: true })
  errorClass!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  purpose!: string | null;

  @Column({ type: 'boolean', default: false })
  streamed!: boolean;

  @Column({ name: 'finish_reason', type: 'varchar', length: 32, nullable: true })
  finishReason!: string | null;

  @Column({ name: 'call_metadata', type: 'jsonb', default: () => "'{}'::jsonb" })
  callMetadata!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @ManyToOne(() => Job, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'job_id' })
  job?: Job;
}
