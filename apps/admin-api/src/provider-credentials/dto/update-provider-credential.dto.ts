import { IsUrl, Matches, ValidateIf } from 'class-validator';
import { OptionalNotNull } from '@app/http';
import { API_BASE_URL_OPTIONS } from '../../models/catalog-rules';
import {
  AWS_ACCESS_KEY_ID_MESSAGE,
  AWS_ACCESS_KEY_ID_PATTERN,
  AWS_REGION_MESSAGE,
  AWS_REGION_PATTERN,
  API_VERSION_MESSAGE,
  API_VERSION_PATTERN,
} from './provider-settings';
import { SecretText, SessionToken, ShortText, UrlLength } from '../../dto-bounds';

/** Partial update: only the fields sent change. Provider and organization are fixed at creation. */
export class UpdateProviderCredentialDto {
  /** @example "openai-prod-2" */
  @OptionalNotNull()
  @ShortText()
  credential_name?: string;

  /**
   * A new provider key, re-encrypted under the current ENCRYPTION_KEY (not for bedrock: send
   * a new aws_access_key_id and aws_secret_access_key).
   * @example "sk-proj-YYYYYYYYYYYYYYYYYYYYYYYY"
   */
  @OptionalNotNull()
  @SecretText()
  api_key?: string;

  /**
   * New base URL; null clears it (not allowed for openai-compatible and azure-openai).
   * Link-local and cloud metadata addresses are refused unless ALLOW_LINK_LOCAL_API_BASE=true.
   * @example "https://api.together.xyz/v1"
   */
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'api_base must be an http(s) URL' })
  @UrlLength()
  api_base?: string | null;

  /**
   * azure-openai only: a new `api-version`; null goes back to the default.
   * @example "2025-04-01-preview"
   */
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @Matches(API_VERSION_PATTERN, { message: API_VERSION_MESSAGE })
  api_version?: string | null;

  /**
   * bedrock only: a new AWS region.
   * @example "eu-west-1"
   */
  @OptionalNotNull()
  @Matches(AWS_REGION_PATTERN, { message: AWS_REGION_MESSAGE })
  aws_region?: string;

  /**
   * bedrock only: a new AWS access key id, sent together with aws_secret_access_key (and
   * aws_session_token for temporary credentials); the pair is re-sealed as a whole.
   * @example "AKIAIOSFODNN7EXAMPLE"
   */
  @OptionalNotNull()
  @Matches(AWS_ACCESS_KEY_ID_PATTERN, { message: AWS_ACCESS_KEY_ID_MESSAGE })
  aws_access_key_id?: string;

  /** bedrock only: the new AWS secret access key, with aws_access_key_id. */
  @OptionalNotNull()
  @SecretText()
  aws_secret_access_key?: string;

  /** bedrock only, optional: the session token of new temporary credentials. */
  @OptionalNotNull()
  @SessionToken()
  aws_session_token?: string;
}
