import { IsObject, IsString, Length, Matches } from 'class-validator';
import { OptionalNotNull } from '@app/http';

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const ID_MESSAGE =
  'must be 1-128 characters of letters, digits, _ . : - (starting with a letter or digit)';

export class CreateOrganizationDto {
  /**
   * Caller-chosen id, unique.
   * @example "acme"
   */
  @Matches(ID_PATTERN, { message: `organization_id ${ID_MESSAGE}` })
  organization_id!: string;

  /**
   * Display name.
   * @example "Acme Corp"
   */
  @IsString()
  @Length(1, 255)
  name!: string;

  /**
   * Free-form JSON object.
   * @example {"plan": "enterprise"}
   */
  @OptionalNotNull()
  @IsObject()
  metadata?: Record<string, unknown>;
}
