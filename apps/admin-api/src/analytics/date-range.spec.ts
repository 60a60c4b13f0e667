import { TollgateError } from '@app/http';
import { parseDateRange, wholeDays } from './date-range';

describe('parseDateRange', () => {
  it('treats dates as whole UTC days, the end day included', () => {
    expect(parseDateRange('2026-01-01', '2026-01-31')).toEqual({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
    });
    expect(parseDateRange('2026-03-05', '2026-03-05')).toEqual({
      from: '2026-03-05T00:00:00.000Z',
      to: '2026-03-06T00:00:00.000Z',
    });
  });

  it('takes datetimes as instants (UTC when no zone), the end exclusive', () => {
    expect(parseDateRange('2026-01-01T10:00:00', '2026-01-01T12:30:00+02:00')).toEqual({
      from: '2026-01-01T10:00:00.000Z',
      to: '2026-01-01T10:30:00.000Z',
    });
  });

  it('leaves omitted ends unbounded', () => {
    expect(parseDateRange()).toEqual({ from: null, to: null });
    expect(parseDateRange(undefined, '2026-01-01').to).toBe('2026-01-02T00:00:00.000Z');
  });

  it('refuses from after to, and unparseable values, with a 400', () => {
    expect(() => parseDateRange('2026-02-01', '2026-01-31')).toThrow(TollgateError);
    expect(() => parseDateRange('2026-01-01T10:00:01Z', '2026-01-01T10:00:00Z')).toThrow(
      'from: must not be after to',
    );
    expect(parseDateRange('2026-01-05T23:00:00Z', '2026-01-05').to).toBe(
      '2026-01-06T00:00:00.000Z',
    );
    expect(() => parseDateRange('2026-01-06', '2026-01-05')).toThrow(TollgateError);
    expect(() => parseDateRange('2026-W05')).toThrow(/from: must be an ISO 8601/);
  });
});

describe('wholeDays', () => {
  const split = (from: string | null, to: string | null) => wholeDays({ from, to });

  it('keeps whole-day bounds and rounds partial days inwards', () => {
    expect(split('2026-01-01T00:00:00.000Z', '2026-01-04T00:00:00.000Z')).toEqual({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-04T00:00:00.000Z',
    });
    expect(split('2026-01-01T10:00:00.000Z', '2026-01-04T00:00:00.001Z')).toEqual({
      from: '2026-01-02T00:00:00.000Z',
      to: '2026-01-04T00:00:00.000Z',
    });
  });

  it('leaves unbounded ends unbounded', () => {
    expect(split(null, null)).toEqual({ from: null, to: null });
    expect(split('2026-01-01T10:00:00.000Z', null)).toEqual({
      from: '2026-01-02T00:00:00.000Z',
      to: null,
    });
    expect(split(null, '2026-01-01T10:00:00.000Z')).toEqual({
      from: null,
      to: '2026-01-01T00:00:00.000Z',
    });
  });

  it('has no whole day inside one day, or across one midnight', () => {
    expect(split('2026-01-01T10:00:00.000Z', '2026-01-01T12:00:00.000Z')).toEqual({
      from: '2026-01-01T10:00:00.000Z',
      to: '2026-01-01T10:00:00.000Z',
    });
    // 10:00 to 02:00 next day: no whole day; both sides of midnight are edges
    expect(split('2026-01-01T10:00:00.000Z', '2026-01-02T02:00:00.000Z')).toEqual({
      from: '2026-01-02T00:00:00.000Z',
      to: '2026-01-02T00:00:00.000Z',
    });
  });
});
