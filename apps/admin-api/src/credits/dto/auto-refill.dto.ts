import { IsBoolean, IsIn, IsInt, Max, Min, ValidateIf } from 'class-validator';
import { REFILL_PERIODS, RefillPeriod } from '@app/db';

export class ConfigureAutoRefillDto {
  /**
   * false turns auto-refill off (amount and period may then be omitted).
   * @example true
   */
  @IsBoolean()
  enabled!: boolean;

  /**
   * Credits added once per period (required when enabled).
   * @example 1000
   */
  @ValidateIf((o: ConfigureAutoRefillDto) => o.enabled === true || o.refill_amount !== undefined)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  refill_amount?: number;

  /**
   * How often the refill happens (required when enabled).
   * @example "monthly"
   */
  @ValidateIf((o: ConfigureAutoRefillDto) => o.enabled === true || o.refill_period !== undefined)
  @IsIn(REFILL_PERIODS)
  refill_period?: RefillPeriod;
}
