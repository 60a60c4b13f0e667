import { PickType } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { BUDGET_MODES, BudgetMode } from '@app/db';
import { CreateTeamDto } from '../../teams/dto/create-team.dto';

export class UpdateBudgetModeDto extends PickType(CreateTeamDto, [
  'credits_per_dollar',
  'tokens_per_credit',
] as const) {
  /**
   * job_based: 1 credit per completed job; consumption_usd / consumption_tokens: per call.
   * @example "consumption_usd"
   */
  @IsIn(BUDGET_MODES)
  budget_mode!: BudgetMode;
}
