import { Transform } from 'class-transformer';
import { IsBoolean, IsString } from 'class-validator';
import { OptionalNotNull, PageQueryDto } from '@app/http';

export class ListTeamsQueryDto extends PageQueryDto {
  /** Only the teams of this organization. */
  @OptionalNotNull()
  @IsString()
  organization_id?: string;

  /** Include deleted teams (default false). */
  @OptionalNotNull()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  include_deleted?: boolean;
}
