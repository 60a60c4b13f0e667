import { keyset, sliceOf } from './keyset';

describe('sliceOf', () => {
  const rows = [1, 2, 3].map((n) => ({ at: `2026-01-01T00:00:00.00000${n}Z`, id: `id-${n}` }));
  const position = (r: { at: string; id: string }) => ({ createdAt: r.at, id: r.id });

  it('keeps limit rows and resumes after the last one when there is more', () => {
    expect(sliceOf(rows, 2, position)).toEqual({
      rows: rows.slice(0, 2),
      next: { createdAt: rows[1].at, id: 'id-2' },
    });
  });

  it('has no next position on the last slice', () => {
    expect(sliceOf(rows, 3, position)).toEqual({ rows, next: null });
    expect(sliceOf([], 3, position)).toEqual({ rows: [], next: null });
  });
});

describe('keyset', () => {
  it('orders and resumes on (created_at, id), NULL parameters meaning the first slice', () => {
    const k = keyset('c.created_at', 'c.call_id');
    expect(k.order).toBe('c.created_at DESC, c.call_id DESC');
    expect(k.after('$1', '$2')).toBe(
      '($1::timestamptz IS NULL OR (c.created_at, c.call_id) < ($1::timestamptz, $2::uuid))',
    );
    expect(k.params(null)).toEqual([null, null]);
    expect(k.params({ createdAt: 'at', id: 'id' })).toEqual(['at', 'id']);
  });

  it('slices rows by the position they selected', () => {
    const k = keyset('created_at', 'audit_id');
    expect(k.select).toContain('AS keyset_at, audit_id AS keyset_id');
    const rows = ['a', 'b'].map((id) => ({
      keyset_at: '2026-01-01T00:00:00.000001Z',
      keyset_id: id,
    }));
    expect(k.slice(rows, 1)).toEqual({
      rows: [rows[0]],
      next: { createdAt: '2026-01-01T00:00:00.000001Z', id: 'a' },
    });
  });
});
