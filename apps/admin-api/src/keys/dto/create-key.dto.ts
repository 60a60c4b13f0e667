import { ArrayMaxSize, IsArray, IsObject, IsString } from 'class-validator';
import { CreditCount, RpmLimit, ShortText, TpmLimit } from '../../dto-bounds';
import { OptionalNotNull } from '@app/http';
import { IsDuration } from './duration';

export class CreateKeyDto {
  /** Human-readable name of the key. */
  @OptionalNotNull()
  @ShortText()
  key_alias?: string;

  /**
   * Allow-list of model or group names (a subset of the team's models); empty = all.
   * @example ["gpt-4o-mini", "fast"]
   */
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  models?: string[];

  /**
   * Lifetime of the key (s, m, h, d or w), e.g. "30d"; omitted = never expires.
   * @example "30d"
   */
  @OptionalNotNull()
  @IsDuration('duration')
  duration?: string;

  /**
   * Credits this key may spend per budget_duration window (or in total without one).
   * @example 500
   */
  @OptionalNotNull()
  @CreditCount()
  max_budget?: number;

  /**
   * Window after which the key's spend resets, e.g. "30d"; only with max_budget.
   * @example "30d"
   */
  @OptionalNotNull()
  @IsDuration('budget_duration')
  budget_duration?: string;

  /** Requests per minute through this key. */
  @OptionalNotNull()
  @RpmLimit()
  rpm_limit?: number;

  /** Tokens per minute through this key. */
  @OptionalNotNull()
  @TpmLimit()
  tpm_limit?: number;

  /** Free-form JSON object stored with the key. */
  @OptionalNotNull()
  @IsObject()
  metadata?: Record<string, unknown>;
}
