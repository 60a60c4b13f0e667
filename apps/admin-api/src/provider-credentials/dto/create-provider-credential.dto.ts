import { IsIn, IsOptional, IsUrl, Matches } from 'class-validator';
import {
  AWS_ACCESS_KEY_ID_MESSAGE,
  AWS_ACCESS_KEY_ID_PATTERN,
  AWS_REGION_MESSAGE,
  AWS_REGION_PATTERN,
  API_VERSION_MESSAGE,
  API_VERSION_PATTERN,
} from './provider-settings';
import { PROVIDERS, Provider } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { ID_MESSAGE, ID_PATTERN } from '../../organizations/dto/create-organization.dto';
import { API_BASE_URL_OPTIONS } from '../../models/catalog-rules';
import { SecretText, SessionToken, ShortText, UrlLength } from '../../dto-bounds';

export class CreateProviderCredentialDto {
  /**
   * Owning organization; omit or null for a credential shared by every organization.
   * @example "acme"
   */
  @IsOptional()
  @Matches(ID_PATTERN, { message: `organization_id ${ID_MESSAGE}` })
  organization_id?: string | null;

  /** @example "openai" */
  @IsIn(PROVIDERS)
  provider!: Provider;

  /**
   * Unique within the organization (or among shared credentials).
   * @example "openai-prod"
   */
  @ShortText()
  credential_name!: string;

  /**
   * The provider's API key. Encrypted at rest (AES-256-GCM) and never returned: responses show
   * `has_api_key` and a masked tail. Required for openai, anthropic, azure-openai and gemini;
   * bedrock takes an AWS key pair instead (aws_access_key_id, aws_secret_access_key).
   * @example "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXX"
   */
  @OptionalNotNull()
  @SecretText()
  api_key?: string;

  /**
   * http(s) base URL with its version segment; required for openai-compatible, and for
   * azure-openai (the resource endpoint, e.g. https://my-resource.openai.azure.com).
   * Defaults: openai https://api.openai.com/v1, anthropic https://api.anthropic.com, gemini
   * https://generativelanguage.googleapis.com, bedrock https://bedrock-runtime.{aws_region}.amazonaws.com.
   * Link-local and cloud metadata addresses are refused unless ALLOW_LINK_LOCAL_API_BASE=true.
   * @example "http://localhost:11434/v1"
   */
  @OptionalNotNull()
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'api_base must be an http(s) URL' })
  @UrlLength()
  api_base?: string;

  /**
   * azure-openai only: the `api-version` sent with every request (default 2024-10-21).
   * @example "2024-10-21"
   */
  @OptionalNotNull()
  @Matches(API_VERSION_PATTERN, { message: API_VERSION_MESSAGE })
  api_version?: string;

  /**
   * bedrock only (required there): the AWS region requests are signed for.
   * @example "us-east-1"
   */
  @OptionalNotNull()
  @Matches(AWS_REGION_PATTERN, { message: AWS_REGION_MESSAGE })
  aws_region?: string;

  /**
   * bedrock only (required there): the AWS access key id. Sealed with the secret, never
   * returned (responses show its last 4 characters).
   * @example "AKIAIOSFODNN7EXAMPLE"
   */
  @OptionalNotNull()
  @Matches(AWS_ACCESS_KEY_ID_PATTERN, { message: AWS_ACCESS_KEY_ID_MESSAGE })
  aws_access_key_id?: string;

  /**
   * bedrock only (required there): the AWS secret access key. Encrypted at rest, never returned.
   * @example "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
   */
  @OptionalNotNull()
  @SecretText()
  aws_secret_access_key?: string;

  /**
   * bedrock only, optional: an AWS session token of temporary credentials. Encrypted at rest,
   * never returned.
   */
  @OptionalNotNull()
  @SessionToken()
  aws_session_token?: string;
}
