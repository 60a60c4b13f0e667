import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { OptionalNotNull } from './validation';

/** `?limit&cursor` for every list. */
export class PageQueryDto {
  /** Page size, 1–200 (default 50). */
  @OptionalNotNull()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** Opaque cursor from the previous page's `next_cursor`. */
  @OptionalNotNull()
  @IsString()
  cursor?: string;
}
