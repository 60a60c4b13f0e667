import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString } from 'class-validator';
import { PageQueryDto } from '@app/http';

export class ListTeamsQueryDto extends PageQueryDto {
  /** Only the teams of this organization. */
  @IsOptional()
  @IsString()
  organization_id?: string;

  /** Include deleted teams (default false). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  include_deleted?: boolean;
}
