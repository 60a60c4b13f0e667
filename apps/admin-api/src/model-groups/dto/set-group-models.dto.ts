import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsString,
  MaxLength,
} from 'class-validator';

export class SetGroupModelsDto {
  /**
   * The group's new model list, in priority order (replaces the old one).
   * @example ["gpt-4o-mini", "llama3-8b"]
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  models!: string[];
}
