import { IsIn, IsOptional, IsString, IsUrl, Length, Matches, MaxLength } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { ID_MESSAGE, ID_PATTERN } from '../../organizations/dto/create-organization.dto';
import { API_BASE_URL_OPTIONS } from '../../models/catalog-rules';

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
  @IsString()
  @Length(1, 255)
  credential_name!: string;

  /**
   * The provider's API key. Encrypted at rest (AES-256-GCM) and never returned: responses show
   * `has_api_key` and a masked tail. Required for openai and anthropic.
   * @example "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXX"
   */
  @OptionalNotNull()
  @IsString()
  @Length(1, 4096)
  api_key?: string;

  /**
   * http(s) base URL with its version segment; required for openai-compatible.
   * Defaults: openai https://api.openai.com/v1, anthropic https://api.anthropic.com.
   * Link-local and cloud metadata addresses are refused unless ALLOW_LINK_LOCAL_API_BASE=true.
   * @example "http://localhost:11434/v1"
   */
  @OptionalNotNull()
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'api_base must be an http(s) URL' })
  @MaxLength(2048)
  api_base?: string;
}
