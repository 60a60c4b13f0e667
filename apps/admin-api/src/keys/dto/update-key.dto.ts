import { ArrayMaxSize, IsArray, IsObject, IsOptional, IsString } from 'class-validator';
import { CreditCount, RpmLimit, ShortText, TpmLimit } from '../../dto-bounds';
import { IsDuration } from './duration';

/** Every field optional; `null` clears a limit (no budget, no expiry, no rate limit). */
export class UpdateKeyDto {
  @IsOptional()
  @ShortText()
  key_alias?: string | null;

  /** New allow-list (a subset of the team's models); `[]` or `null` = all the team's models. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  models?: string[] | null;

  /**
   * New lifetime counted from now, e.g. "7d"; `null` = never expires.
   * @example "7d"
   */
  @IsOptional()
  @IsDuration('duration')
  duration?: string | null;

  /** Credits per budget window; `null` removes the budget (and budget_duration). */
  @IsOptional()
  @CreditCount()
  max_budget?: number | null;

  /** A new window restarts the spend count now; `null` = one budget for the key's lifetime. */
  @IsOptional()
  @IsDuration('budget_duration')
  budget_duration?: string | null;

  @IsOptional()
  @RpmLimit()
  rpm_limit?: number | null;

  @IsOptional()
  @TpmLimit()
  tpm_limit?: number | null;

  /** Replaces the key's metadata; `null` empties it. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown> | null;
}
