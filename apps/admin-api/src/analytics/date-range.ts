import { badRequest } from '@app/http';

/** A half-open window [from, to) as ISO instants; null = unbounded. */
export interface DateRange {
  from: string | null;
  to: string | null;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_ZONE = /(Z|[+-]\d{2}(:?\d{2})?)$/i;
const DAY_MS = 86_400_000;

function instant(field: string, value: string): number {
  const text = DATE_ONLY.test(value) || HAS_ZONE.test(value) ? value : `${value}Z`;
  const ms = Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw badRequest(`${field}: must be an ISO 8601 date or datetime`);
  return ms;
}

/**
 * Dates are whole UTC days (`to` = through the end of that day); datetimes without a zone are
 * UTC and `to` is exclusive. from > to → 400.
 */
export function parseDateRange(from?: string, to?: string): DateRange {
  const start = from === undefined ? null : instant('from', from);
  const end = to === undefined ? null : instant('to', to);
  const endExclusive = end !== null && to !== undefined && DATE_ONLY.test(to) ? end + DAY_MS : end;
  // a date `to` covers its whole day: from may fall anywhere in it
  const last = endExclusive !== null && endExclusive !== end ? endExclusive - 1 : end;
  if (start !== null && last !== null && start > last) {
    throw badRequest('from: must not be after to');
  }
  return {
    from: start === null ? null : new Date(start).toISOString(),
    to: endExclusive === null ? null : new Date(endExclusive).toISOString(),
  };
}

/**
 * The whole UTC days of a range, [from, to) (null = unbounded): the part the daily rollups
 * answer. The rest of the range, [range.from, from) and [to, range.to), are the partial days at
 * its edges, read from raw rows. A range inside one day has no whole day (from = to = its start).
 */
export function wholeDays(range: DateRange): DateRange {
  const iso = (ms: number) => new Date(ms).toISOString();
  const start = range.from === null ? null : Math.ceil(Date.parse(range.from) / DAY_MS) * DAY_MS;
  const end = range.to === null ? null : Math.floor(Date.parse(range.to) / DAY_MS) * DAY_MS;
  if (start !== null && end !== null && start > end) return { from: range.from, to: range.from };
  return { from: start === null ? null : iso(start), to: end === null ? null : iso(end) };
}
