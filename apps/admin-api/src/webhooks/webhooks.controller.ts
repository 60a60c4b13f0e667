import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { PageQueryDto, UuidParam } from '@app/http';
import { CreateWebhookDto } from './dto/create-webhook.dto';
import { ListDeliveriesQueryDto } from './dto/list-deliveries.query';
import { UpdateWebhookDto } from './dto/update-webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@AdminAuth()
@Controller('api/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /**
   * Register a webhook. `secret` (signs every delivery: `Tollgate-Signature:
   * t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) is in this response only.
   */
  @Post()
  @ApiBadRequestResponse({
    description: 'Invalid body, URL refused, or team outside the organization',
  })
  @ApiNotFoundResponse({ description: 'Organization or team not found' })
  create(@Body() dto: CreateWebhookDto) {
    return this.webhooks.create(dto);
  }

  /** Webhooks, newest first (never their secrets). */
  @Get()
  @ApiBadRequestResponse({ description: 'Invalid limit or cursor' })
  list(@Query() query: PageQueryDto) {
    return this.webhooks.list(query.limit, query.cursor);
  }

  @Get(':webhook_id')
  @ApiBadRequestResponse({ description: 'webhook_id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Webhook not found' })
  get(@Param('webhook_id', UuidParam('webhook_id')) webhookId: string) {
    return this.webhooks.get(webhookId);
  }

  /** Change the URL, events, scope, description or enabled. */
  @Patch(':webhook_id')
  @ApiBadRequestResponse({
    description: 'Invalid body, URL refused, or team outside the organization',
  })
  @ApiNotFoundResponse({ description: 'Webhook, organization or team not found' })
  update(
    @Param('webhook_id', UuidParam('webhook_id')) webhookId: string,
    @Body() dto: UpdateWebhookDto,
  ) {
    return this.webhooks.update(webhookId, dto);
  }

  /** Replace the signing secret; the new `secret` is in this response only. */
  @Post(':webhook_id/rotate-secret')
  @HttpCode(200)
  @ApiBadRequestResponse({ description: 'webhook_id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Webhook not found' })
  rotateSecret(@Param('webhook_id', UuidParam('webhook_id')) webhookId: string) {
    return this.webhooks.rotateSecret(webhookId);
  }

  /** Delete a webhook with its delivery log (unsent deliveries are dropped). */
  @Delete(':webhook_id')
  @HttpCode(200)
  @ApiBadRequestResponse({ description: 'webhook_id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Webhook not found' })
  remove(@Param('webhook_id', UuidParam('webhook_id')) webhookId: string) {
    return this.webhooks.remove(webhookId);
  }

  /** The delivery log, newest first: status, attempts, last response code or error, next attempt. */
  @Get(':webhook_id/deliveries')
  @ApiBadRequestResponse({ description: 'Invalid webhook_id, status, limit or cursor' })
  @ApiNotFoundResponse({ description: 'Webhook not found' })
  deliveries(
    @Param('webhook_id', UuidParam('webhook_id')) webhookId: string,
    @Query() query: ListDeliveriesQueryDto,
  ) {
    return this.webhooks.deliveries(webhookId, query);
  }
}
