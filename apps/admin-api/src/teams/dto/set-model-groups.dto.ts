import { ArrayMaxSize, IsArray, IsString, Length } from 'class-validator';

export class SetModelGroupsDto {
  /**
   * The team's complete set of model groups (replaces the current set); `[]` removes all.
   * @example ["fast", "smart"]
   */
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  model_groups!: string[];
}
