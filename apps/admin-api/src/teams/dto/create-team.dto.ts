import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { BUDGET_MODES, BudgetMode } from '@app/db';
import { ID_MESSAGE, ID_PATTERN } from '../../organizations/dto/create-organization.dto';

export class CreateTeamDto {
  @Matches(ID_PATTERN, { message: `organization_id ${ID_MESSAGE}` })
  organization_id!: string;

  /** Caller-chosen id, unique across organizations. */
  @Matches(ID_PATTERN, { message: `team_id ${ID_MESSAGE}` })
  team_id!: string;

  @IsOptional()
  @IsString()
  @Length(1, 255)
  team_alias?: string;

  /** Model groups the team may use. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  model_groups?: string[];

  /** Synonym of model_groups (the reference API's name). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  access_groups?: string[];

  /** Initial credits, written to the ledger as an allocation. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000_000)
  credits_allocated?: number;

  @IsOptional()
  @IsIn(BUDGET_MODES)
  budget_mode?: BudgetMode;

  /** consumption_usd: credits per dollar of client cost (default 10). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.000001)
  credits_per_dollar?: number;

  /** consumption_tokens: tokens per credit (default 10000). */
  @IsOptional()
  @IsInt()
  @Min(1)
  tokens_per_credit?: number;

  /** Client cost = provider cost × (1 + markup/100). */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(10000)
  cost_markup_percentage?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  rpm_limit?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  tpm_limit?: number;

  @IsOptional()
  @IsObject()
  @Type(() => Object)
  metadata?: Record<string, unknown>;
}
