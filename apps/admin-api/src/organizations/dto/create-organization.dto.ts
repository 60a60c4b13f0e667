import { IsObject, Matches } from 'class-validator';
import { OptionalNotNull } from '@app/http';
import { ShortText } from '../../dto-bounds';

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
  @ShortText()
  name!: string;

  /**
   * Free-form JSON object.
   * @example {"plan": "enterprise"}
   */
  @OptionalNotNull()
  @IsObject()
  metadata?: Record<string, unknown>;
}
