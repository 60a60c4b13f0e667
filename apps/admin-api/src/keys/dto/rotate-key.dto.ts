import { OptionalNotNull } from '@app/http';
import { IsDuration } from './duration';

export class RotateKeyDto {
  /**
   * How long the old key keeps working, e.g. "1h"; "0s" (default) refuses it at once.
   * @example "1h"
   */
  @OptionalNotNull()
  @IsDuration('grace_period')
  grace_period?: string;

  /**
   * Lifetime of the new key from now; omitted = the old key's expires_at is kept.
   * @example "30d"
   */
  @OptionalNotNull()
  @IsDuration('duration')
  duration?: string;
}
