import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsObject, IsString, Matches } from 'class-validator';
import { BUDGET_MODES, BudgetMode } from '@app/db';
import { OptionalNotNull } from '@app/http';
import { ID_MESSAGE, ID_PATTERN } from '../../organizations/dto/create-organization.dto';
import {
  CreditCount,
  CreditsPerDollar,
  MarkupPercentage,
  RpmLimit,
  ShortText,
  TokensPerCredit,
  TpmLimit,
} from '../../dto-bounds';

export class CreateTeamDto {
  /** @example "acme" */
  @Matches(ID_PATTERN, { message: `organization_id ${ID_MESSAGE}` })
  organization_id!: string;

  /**
   * Caller-chosen id, unique across organizations.
   * @example "acme-research"
   */
  @Matches(ID_PATTERN, { message: `team_id ${ID_MESSAGE}` })
  team_id!: string;

  /** @example "Research" */
  @OptionalNotNull()
  @ShortText()
  team_alias?: string;

  /**
   * Model groups the team may use.
   * @example ["fast-chat"]
   */
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  model_groups?: string[];

  /**
   * Synonym of model_groups (the reference API's name).
   * @example ["fast-chat"]
   */
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  access_groups?: string[];

  /**
   * Initial credits, written to the ledger as an allocation.
   * @example 1000
   */
  @OptionalNotNull()
  @CreditCount()
  credits_allocated?: number;

  /** @example "consumption_usd" */
  @OptionalNotNull()
  @IsIn(BUDGET_MODES)
  budget_mode?: BudgetMode;

  /**
   * consumption_usd: credits per dollar of client cost (default 10).
   * @example 10
   */
  @OptionalNotNull()
  @CreditsPerDollar()
  credits_per_dollar?: number;

  /**
   * consumption_tokens: tokens per credit (default 10000).
   * @example 10000
   */
  @OptionalNotNull()
  @TokensPerCredit()
  tokens_per_credit?: number;

  /**
   * Client cost = provider cost × (1 + markup/100).
   * @example 20
   */
  @OptionalNotNull()
  @MarkupPercentage()
  cost_markup_percentage?: number;

  /**
   * Requests per minute for the whole team.
   * @example 600
   */
  @OptionalNotNull()
  @RpmLimit()
  rpm_limit?: number;

  /**
   * Tokens per minute for the whole team.
   * @example 200000
   */
  @OptionalNotNull()
  @TpmLimit()
  tpm_limit?: number;

  /** @example {"cost_center": "R&D"} */
  @OptionalNotNull()
  @IsObject()
  @Type(() => Object)
  metadata?: Record<string, unknown>;
}
