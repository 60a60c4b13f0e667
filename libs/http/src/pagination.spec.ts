import { decodeCursor, encodeCursor } from './pagination';

const raw = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const UUID = '3f2b8c1e-7d4a-4c59-9a57-2f4b1e6f8c21';

describe('decodeCursor', () => {
  it('round-trips what the encoders write: toISOString (ms) and to_char (µs)', () => {
    for (const position of [
      { createdAt: new Date('2026-03-01T08:09:10.123Z').toISOString(), id: UUID },
      { createdAt: '2026-03-01T08:09:10.123456Z', id: UUID.toUpperCase() },
    ]) {
      expect(decodeCursor(encodeCursor(position))).toEqual(position);
    }
    const team = { createdAt: '2026-12-31T23:59:59.999Z', id: 'team-a.b:c_d' };
    expect(decodeCursor(encodeCursor(team), 'name')).toEqual(team);
    expect(decodeCursor(undefined)).toBeNull();
    expect(decodeCursor('')).toBeNull();
  });

  it.each([
    ['not base64 JSON', 'nope'],
    ['JSON that is not a pair', raw({ a: 1 })],
    ['a pair of three', raw(['2026-03-01T08:09:10.123Z', UUID, 'x'])],
    ['a date JS parses but Postgres refuses', raw(['1', UUID])],
    ['a date-only string', raw(['2026-03-01', UUID])],
    ['a timestamp without fraction', raw(['2026-03-01T08:09:10Z', UUID])],
    ['a timestamp with an offset', raw(['2026-03-01T08:09:10.123+02:00', UUID])],
    ['an impossible day', raw(['2026-02-30T08:09:10.123Z', UUID])],
    ['hour 24', raw(['2026-03-01T24:00:00.000Z', UUID])],
    ['year 0000', raw(['0000-03-01T08:09:10.123Z', UUID])],
    ['a number id', raw(['2026-03-01T08:09:10.123Z', 7])],
    ['a non-UUID id', raw(['2026-03-01T08:09:10.123Z', 'x'])],
    ['an id with a NUL byte', raw(['2026-03-01T08:09:10.123Z', `${UUID}\u0000`])],
  ])('rejects %s with a 400 naming cursor', (_case, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', detail: 'cursor: invalid cursor' }),
    );
  });

  it('checks the id against the kind the list uses', () => {
    const at = '2026-03-01T08:09:10.123Z';
    expect(() => decodeCursor(raw([at, 'team-a']))).toThrow('cursor: invalid cursor');
    for (const bad of ['', '-team', 'a b', 'x'.repeat(129), 'a\u0000b']) {
      expect(() => decodeCursor(raw([at, bad]), 'name')).toThrow('cursor: invalid cursor');
    }
    expect(decodeCursor(raw([at, UUID]), 'name')).toEqual({ createdAt: at, id: UUID });
  });
});
