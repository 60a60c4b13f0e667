import { Module } from '@nestjs/common';
import { CredentialCipher } from '@app/auth';
import { WebhookDeliverer } from './webhook-deliverer';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

@Module({
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDeliverer, CredentialCipher],
})
export class WebhooksModule {}
