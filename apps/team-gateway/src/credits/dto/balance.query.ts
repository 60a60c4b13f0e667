import { IsOptional, IsString } from 'class-validator';

export class BalanceQueryDto {
  /** Must be the key's own team; defaults to it. */
  @IsOptional()
  @IsString()
  team_id?: string;
}
