import { IsOptional, IsString } from 'class-validator';
import { PageQueryDto } from '@app/http';

export class ListTeamsQueryDto extends PageQueryDto {
  /** Only the teams of this organization. */
  @IsOptional()
  @IsString()
  organization_id?: string;
}
