import { AuditLog } from './audit-log.entity';
import { CreditHold } from './credit-hold.entity';
import { CreditLease } from './credit-lease.entity';
import { CreditTransaction } from './credit-transaction.entity';
import { IdempotencyKey } from './idempotency-key.entity';
import { Job } from './job.entity';
import { LlmCall } from './llm-call.entity';
import { ModelDeployment } from './model-deployment.entity';
import { ModelGroup } from './model-group.entity';
import { Organization } from './organization.entity';
import { ProviderCredential } from './provider-credential.entity';
import { TeamModelGroup } from './team-model-group.entity';
import { Team } from './team.entity';
import { VirtualKey } from './virtual-key.entity';
import { WebhookDelivery } from './webhook-delivery.entity';
import { WebhookEvent } from './webhook-event.entity';
import { Webhook } from './webhook.entity';

export * from './audit-log.entity';
export * from './credit-hold.entity';
export * from './credit-lease.entity';
export * from './credit-transaction.entity';
export * from './idempotency-key.entity';
export * from './job.entity';
export * from './llm-call.entity';
export * from './llm-call.columns';
export * from './model-deployment.entity';
export * from './model-group.entity';
export * from './organization.entity';
export * from './provider-credential.entity';
export * from './team-model-group.entity';
export * from './team.entity';
export * from './virtual-key.entity';
export * from './webhook-delivery.entity';
export * from './webhook-event.entity';
export * from './webhook.entity';

export const ENTITIES = [
  Organization,
  Team,
  TeamModelGroup,
  VirtualKey,
  ProviderCredential,
  ModelDeployment,
  ModelGroup,
  CreditTransaction,
  CreditHold,
  CreditLease,
  Job,
  LlmCall,
  AuditLog,
  IdempotencyKey,
  Webhook,
  WebhookEvent,
  WebhookDelivery,
];
