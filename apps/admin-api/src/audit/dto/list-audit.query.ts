import { IsString, Length, Matches } from 'class-validator';
import { OptionalNotNull, PageQueryDto } from '@app/http';

export class ListAuditQueryDto extends PageQueryDto {
  /** e.g. `team`, `key`, `organization`, `provider_credential`, `model`, `model_group`. */
  @OptionalNotNull()
  @Matches(/^[a-z_]{1,64}$/, { message: 'target_type must be a lower-case snake_case word' })
  target_type?: string;

  /** The target's id (team_id, key_id, group_name…). */
  @OptionalNotNull()
  @IsString()
  @Length(1, 255)
  target_id?: string;
}
