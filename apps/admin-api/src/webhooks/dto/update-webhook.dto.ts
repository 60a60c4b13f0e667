import { PartialType, PickType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsUrl,
} from 'class-validator';
import { WEBHOOK_EVENTS, WebhookEventType } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { API_BASE_URL_OPTIONS } from '../../models/catalog-rules';
import { CreateWebhookDto } from './create-webhook.dto';
import { UrlLength } from '../../dto-bounds';

/** Every field optional; `null` clears the organization, team or description. */
export class UpdateWebhookDto extends PartialType(
  PickType(CreateWebhookDto, ['organization_id', 'team_id', 'description'] as const),
) {
  /** @example "https://alerts.example.com/tollgate" */
  @OptionalNotNull()
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'url must be an http(s) URL' })
  @UrlLength()
  url?: string;

  /** @example ["team.balance_low"] */
  @OptionalNotNull()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true })
  events?: WebhookEventType[];

  /** false stops new deliveries and sending. */
  @OptionalNotNull()
  @IsBoolean()
  enabled?: boolean;
}
