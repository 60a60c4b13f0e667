import { IsIn, IsInt, IsNumber, Max, Min } from 'class-validator';
import { BUDGET_MODES, BudgetMode } from '@app/db';
import { OptionalNotNull } from '@app/http';

export class UpdateBudgetModeDto {
  /**
   * job_based: 1 credit per completed job; consumption_usd / consumption_tokens: per call.
   * @example "consumption_usd"
   */
  @IsIn(BUDGET_MODES)
  budget_mode!: BudgetMode;

  /**
   * consumption_usd: credits per dollar of client cost.
   * @example 100
   */
  @OptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.000001)
  @Max(1_000_000_000)
  credits_per_dollar?: number;

  /**
   * consumption_tokens: tokens per credit.
   * @example 10000
   */
  @OptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  tokens_per_credit?: number;
}
