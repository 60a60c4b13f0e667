import { IsString, IsUrl, Length, MaxLength, ValidateIf } from 'class-validator';
import { OptionalNotNull } from '@app/http';
import { API_BASE_URL_OPTIONS } from '../../models/catalog-rules';

/** Partial update: only the fields sent change. Provider and organization are fixed at creation. */
export class UpdateProviderCredentialDto {
  /** @example "openai-prod-2" */
  @OptionalNotNull()
  @IsString()
  @Length(1, 255)
  credential_name?: string;

  /**
   * A new provider key, re-encrypted under the current ENCRYPTION_KEY.
   * @example "sk-proj-YYYYYYYYYYYYYYYYYYYYYYYY"
   */
  @OptionalNotNull()
  @IsString()
  @Length(1, 4096)
  api_key?: string;

  /**
   * New base URL; null clears it (not allowed for openai-compatible).
   * Link-local and cloud metadata addresses are refused unless ALLOW_LINK_LOCAL_API_BASE=true.
   * @example "https://api.together.xyz/v1"
   */
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @IsUrl(API_BASE_URL_OPTIONS, { message: 'api_base must be an http(s) URL' })
  @MaxLength(2048)
  api_base?: string | null;
}
