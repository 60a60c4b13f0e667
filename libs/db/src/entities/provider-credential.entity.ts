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
import { Organization } from './organization.entity';

export const PROVIDERS = [
  'openai',
  'openai-compatible',
  'anthropic',
  'azure-openai',
  'gemini',
  'bedrock',
  'mock',
] as const;
export type Provider = (typeof PROVIDERS)[number];

/** A credential's non-secret settings, by provider (SPEC §9). */
export interface ProviderCredentialSettings {
  /** azure-openai: the `api-version` query parameter. */
  api_version?: string;
  /** bedrock: the AWS region requests are signed for. */
  region?: string;
}

@Entity('provider_credentials')
@Index(['organizationId', 'credentialName'], { unique: true })
export class ProviderCredential {
  @PrimaryGeneratedColumn('uuid', { name: 'credential_id' })
  credentialId!: string;

  /** null = shared by every organization. */
  @Column({ name: 'organization_id', type: 'varchar', length: 128, nullable: true })
  organizationId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  provider!: Provider;

  @Column({ name: 'credential_name', type: 'varchar', length: 255 })
  credentialName!: string;

  /** AES-256-GCM: base64(iv | tag | ciphertext). */
  @Column({ name: 'api_key_encrypted', type: 'text', nullable: true })
  apiKeyEncrypted!: string | null;

  /** Id of the ENCRYPTION_KEY that sealed api_key_encrypted. */
  @Column({ name: 'encryption_key_id', type: 'varchar', length: 32, nullable: true })
  encryptionKeyId!: string | null;

  @Column({ name: 'api_key_last4', type: 'varchar', length: 8, nullable: true })
  apiKeyLast4!: string | null;

  @Column({ name: 'api_base', type: 'varchar', length: 2048, nullable: true })
  apiBase!: string | null;

  /**
   * Non-secret settings (azure-openai api_version, bedrock region). A bedrock credential's
   * sealed secret (api_key_encrypted) is the JSON of its AWS access key pair.
   */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  settings!: ProviderCredentialSettings;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @ManyToOne(() => Organization, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'organization_id' })
  organization?: Organization;
}
