import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { DURATION_PATTERN } from '@app/config';

const DURATION_MESSAGE = 'must be a duration like "30s", "20m", "12h" or "30d"';

export class CreateKeyDto {
  /** Human-readable name of the key. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  key_alias?: string;

  /** Allow-list of model or group names (a subset of the team's models); empty = all. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  models?: string[];

  /** Lifetime of the key, e.g. "30d"; omitted = never expires. */
  @IsOptional()
  @Matches(DURATION_PATTERN, { message: `duration ${DURATION_MESSAGE}` })
  duration?: string;

  /** Credits this key may spend per budget_duration window. */
  @IsOptional()
  @IsInt()
  @Min(0)
  max_budget?: number;

  /** Window after which the key's spend resets, e.g. "30d". */
  @IsOptional()
  @Matches(DURATION_PATTERN, { message: `budget_duration ${DURATION_MESSAGE}` })
  budget_duration?: string;

  /** Requests per minute through this key. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  rpm_limit?: number;

  /** Tokens per minute through this key. */
  @IsOptional()
  @IsInt()
  @Min(1)
  tpm_limit?: number;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}
