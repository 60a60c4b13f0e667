import { IsISO8601 } from 'class-validator';
import { OptionalNotNull } from '@app/http';

/** `?from&to`: ISO dates (whole UTC days, `to` inclusive) or datetimes (`to` exclusive). */
export class DateRangeQueryDto {
  /** Start, e.g. `2026-01-01` or `2026-01-01T08:00:00Z` (default: unbounded). */
  @OptionalNotNull()
  @IsISO8601({ strict: true })
  from?: string;

  /** End, e.g. `2026-01-31` (the whole day) or `2026-02-01T00:00:00Z` (default: unbounded). */
  @OptionalNotNull()
  @IsISO8601({ strict: true })
  to?: string;
}
