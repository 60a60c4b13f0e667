import { ApiHideProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Equals,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
} from 'class-validator';
import { BUDGET_MODES, BudgetMode } from '@app/db';
import { OptionalNotNull } from '@app/http';

const NO_CREDITS = {
  message: (args: { property: string }) =>
    `${args.property} cannot be set here: credits change only through the credits endpoints (POST /api/credits/teams/{team_id}/add)`,
};

/** Every field optional; `null` clears a rate limit or the alias. Credits are never set here. */
export class UpdateTeamDto {
  /** @example "Research (EU)" */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  team_alias?: string | null;

  /** @example "consumption_tokens" */
  @OptionalNotNull()
  @IsIn(BUDGET_MODES)
  budget_mode?: BudgetMode;

  /**
   * consumption_usd: credits per dollar of client cost.
   * @example 10
   */
  @OptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.000001)
  @Max(1_000_000_000)
  credits_per_dollar?: number;

  /**
   * consumption_tokens: tokens per credit.
   * @example 5000
   */
  @OptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  tokens_per_credit?: number;

  /**
   * Client cost = provider cost × (1 + markup/100).
   * @example 15
   */
  @OptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(10000)
  cost_markup_percentage?: number;

  /** @example 1200 */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  rpm_limit?: number | null;

  /** @example 400000 */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  tpm_limit?: number | null;

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
