import { IsIn, IsUrl, IsUUID, Matches, ValidateIf } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import type { DeploymentStatus } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { API_BASE_URL_OPTIONS, MODEL_NAME_MESSAGE, MODEL_NAME_PATTERN } from '../catalog-rules';
import { DEPLOYMENT_STATUSES } from './create-model.dto';
import { DeploymentWeight, PricePerMillion, ShortText, UrlLength } from '../../dto-bounds';

const present = (_o: object, value: unknown) => value !== undefined && value !== null;

/** Partial update: only the fields sent change; the result must still be a routable deployment. */
export class UpdateModelDto {
  /** @example "gpt-4o-mini" */
  @OptionalNotNull()
  @Matches(MODEL_NAME_PATTERN, { message: `model_name ${MODEL_NAME_MESSAGE}` })
  model_name?: string;

  /** @example "openai" */
  @OptionalNotNull()
  @IsIn(PROVIDERS)
  provider?: Provider;

  /** @example "gpt-4o-mini-2024-07-18" */
  @OptionalNotNull()
  @ShortText()
  provider_model?: string;

  /** A credential id, or null to detach the credential. */
  @ValidateIf(present)
  @IsUUID('all', { message: 'credential_id must be a UUID' })
  credential_id?: string | null;

  /**
   * A base URL, or null to fall back to the credential's (or the provider default).
   * Link-local and cloud metadata addresses are refused unless ALLOW_LINK_LOCAL_API_BASE=true.
   * @example "https://api.openai.com/v1"
   */
  @ValidateIf(present)
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'api_base must be an http(s) URL' })
  @UrlLength()
  api_base?: string | null;

  /** @example 0.15 */
  @OptionalNotNull()
  @PricePerMillion()
  input_price_per_million?: number;

  /** @example 0.6 */
  @OptionalNotNull()
  @PricePerMillion()
  output_price_per_million?: number;

  /** A price for cached prompt tokens, or null to bill them at the input price. */
  @ValidateIf(present)
  @PricePerMillion()
  cached_input_price_per_million?: number | null;

  /** A price for cache-written prompt tokens, or null to bill them at the input price. */
  @ValidateIf(present)
  @PricePerMillion()
  cache_write_price_per_million?: number | null;

  /** @example 2 */
  @OptionalNotNull()
  @DeploymentWeight()
  weight?: number;

  /** @example "inactive" */
  @OptionalNotNull()
  @IsIn(DEPLOYMENT_STATUSES)
  status?: DeploymentStatus;
}
