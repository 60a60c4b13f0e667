import { ApiHideProperty, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Equals, IsObject, IsOptional } from 'class-validator';
import { CreditCount, RpmLimit, ShortText, TpmLimit } from '../../dto-bounds';
import { CreateTeamDto } from './create-team.dto';

const NO_CREDITS = {
  message: (args: { property: string }) =>
    `${args.property} cannot be set here: credits change only through the credits endpoints (POST /api/credits/teams/{team_id}/add)`,
};

/** Every field optional; `null` clears a rate limit or the alias. Credits are never set here. */
export class UpdateTeamDto extends PickType(CreateTeamDto, [
  'budget_mode',
  'credits_per_dollar',
  'tokens_per_credit',
  'cost_markup_percentage',
] as const) {
  /** @example "Research (EU)" */
  @IsOptional()
  @ShortText()
  team_alias?: string | null;

  /** @example 1200 */
  @IsOptional()
  @RpmLimit()
  rpm_limit?: number | null;

  /** @example 400000 */
  @IsOptional()
  @TpmLimit()
  tpm_limit?: number | null;

  /**
   * team.balance_low fires (once) when the team's balance (allocated − used) falls below this;
   * it re-arms when credits bring the balance back to it. `null` turns the alert off.
   * @example 1000
   */
  @IsOptional()
  @CreditCount()
  balance_low_threshold?: number | null;

  /**
   * Replaces the team's metadata; `null` empties it.
   * @example {"cost_center": "R&D"}
   */
  @IsOptional()
  @IsObject()
  @Type(() => Object)
  metadata?: Record<string, unknown> | null;

  // Named here only to refuse them with a clear message instead of "unknown field".
  @ApiHideProperty()
  @Equals(undefined, NO_CREDITS)
  credits_allocated?: never;

  @ApiHideProperty()
  @Equals(undefined, NO_CREDITS)
  credits_remaining?: never;

  @ApiHideProperty()
  @Equals(undefined, NO_CREDITS)
  credits_used?: never;

  @ApiHideProperty()
  @Equals(undefined, NO_CREDITS)
  credits_held?: never;

  @ApiHideProperty()
  @Equals(undefined, NO_CREDITS)
  credits?: never;
}
