import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { OptionalNotNull } from '@app/http';

export const GROUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$/;
export const GROUP_NAME_MESSAGE =
  'must be 1-128 characters of letters, digits, _ . : / @ + - (starting with a letter or digit)';

export class CreateModelGroupDto {
  /**
   * Unique; clients may send it as `model` (it resolves to its first healthy model).
   * @example "fast-chat"
   */
  @Matches(GROUP_NAME_PATTERN, { message: `group_name ${GROUP_NAME_MESSAGE}` })
  group_name!: string;

  /** @example "Cheap, fast chat models" */
  @OptionalNotNull()
  @IsString()
  @MaxLength(2000)
  description?: string;

  /**
   * Model names in priority order; each must have at least one deployment.
   * @example ["gpt-4o-mini", "claude-3-5-haiku"]
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  models!: string[];
}
