import { IsIn, IsUrl, IsUUID, Matches, ValidateIf } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import type { DeploymentStatus } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { API_BASE_URL_OPTIONS, MODEL_NAME_MESSAGE, MODEL_NAME_PATTERN } from '../catalog-rules';
import { DeploymentWeight, PricePerMillion, ShortText, UrlLength } from '../../dto-bounds';

export const DEPLOYMENT_STATUSES: DeploymentStatus[] = ['active', 'inactive'];
const present = (_o: object, value: unknown) => value !== undefined && value !== null;

export class CreateModelDto {
  /**
   * Public model name clients send as `model`; several deployments may share it (load-balanced by weight).
   * @example "gpt-4o-mini"
   */
  @Matches(MODEL_NAME_PATTERN, { message: `model_name ${MODEL_NAME_MESSAGE}` })
  model_name!: string;

  /** @example "openai" */
  @IsIn(PROVIDERS)
  provider!: Provider;

  /**
   * The provider's own model id.
   * @example "gpt-4o-mini-2024-07-18"
   */
  @ShortText()
  provider_model!: string;

  /**
   * Provider credential (its provider must match); optional when the deployment has its own
   * api_base, or for mock.
   * @example "7d4a5d6e-0f3b-4c59-9a57-2f4b1e6f8c21"
   */
  @OptionalNotNull()
  @IsUUID('all', { message: 'credential_id must be a UUID' })
  credential_id?: string;

  /**
   * http(s) base URL with its version segment; overrides the credential's.
   * Link-local and cloud metadata addresses are refused unless ALLOW_LINK_LOCAL_API_BASE=true.
   * @example "http://localhost:11434/v1"
   */
  @OptionalNotNull()
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'api_base must be an http(s) URL' })
  @UrlLength()
  api_base?: string;

  /**
   * USD per million prompt tokens.
   * @example 0.15
   */
  @PricePerMillion()
  input_price_per_million!: number;

  /**
   * USD per million completion tokens.
   * @example 0.6
   */
  @PricePerMillion()
  output_price_per_million!: number;

  /**
   * USD per million prompt tokens read from the provider's cache; null or absent = the input price.
   * @example 0.075
   */
  @ValidateIf(present)
  @PricePerMillion()
  cached_input_price_per_million?: number | null;

  /**
   * USD per million prompt tokens written to the provider's cache; null or absent = the input price.
   * @example 0.1875
   */
  @ValidateIf(present)
  @PricePerMillion()
  cache_write_price_per_million?: number | null;

  /**
   * Share of traffic among deployments of the same model_name (default 1).
   * @example 1
   */
  @OptionalNotNull()
  @DeploymentWeight()
  weight?: number;

  /** @example "active" */
  @OptionalNotNull()
  @IsIn(DEPLOYMENT_STATUSES)
  status?: DeploymentStatus;
}
