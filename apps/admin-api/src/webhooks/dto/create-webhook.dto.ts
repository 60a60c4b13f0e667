import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsUrl,
  Matches,
} from 'class-validator';
import { WEBHOOK_EVENTS, WebhookEventType } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { ID_MESSAGE, ID_PATTERN } from '../../organizations/dto/create-organization.dto';
import { API_BASE_URL_OPTIONS } from '../../models/catalog-rules';
import { ShortText, UrlLength } from '../../dto-bounds';

export class CreateWebhookDto {
  /**
   * Where deliveries are POSTed (http or https). Link-local and cloud metadata addresses are
   * refused unless ALLOW_LINK_LOCAL_API_BASE=true; redirects are not followed.
   * @example "https://alerts.example.com/tollgate"
   */
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'url must be an http(s) URL' })
  @UrlLength()
  url!: string;

  /**
   * The events to deliver (at least one).
   * @example ["team.balance_low", "credits.added"]
   */
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true })
  events!: WebhookEventType[];

  /**
   * Only events of this organization's teams; omit or null for every organization.
   * @example "acme"
   */
  @IsOptional()
  @Matches(ID_PATTERN, { message: `organization_id ${ID_MESSAGE}` })
  organization_id?: string | null;

  /**
   * Only events of this team; omit or null for every team (of the organization, if set).
   * @example "acme-research"
   */
  @IsOptional()
  @Matches(ID_PATTERN, { message: `team_id ${ID_MESSAGE}` })
  team_id?: string | null;

  /** @example "Ops channel" */
  @IsOptional()
  @ShortText()
  description?: string | null;

  /** Disabled webhooks get no new deliveries and send none. Default true. */
  @OptionalNotNull()
  @IsBoolean()
  enabled?: boolean;
}
