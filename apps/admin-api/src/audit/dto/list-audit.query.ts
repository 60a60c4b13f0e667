import { Matches } from 'class-validator';
import { OptionalNotNull, PageQueryDto } from '@app/http';
import { ShortText } from '../../dto-bounds';

export class ListAuditQueryDto extends PageQueryDto {
  /** e.g. `team`, `key`, `organization`, `provider_credential`, `model`, `model_group`. */
  @OptionalNotNull()
  @Matches(/^[a-z_]{1,64}$/, { message: 'target_type must be a lower-case snake_case word' })
  target_type?: string;

  /** The target's id (team_id, key_id, group_name…). */
  @OptionalNotNull()
  @ShortText()
  target_id?: string;
}
