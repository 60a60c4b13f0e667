import { Transform } from 'class-transformer';
import { IsBoolean } from 'class-validator';
import { OptionalNotNull } from '@app/http';

export class DeleteModelGroupQueryDto {
  /** Also remove the group from every team that holds it (default false: 409 while held). */
  @OptionalNotNull()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  force?: boolean;
}
