import { decodeGroupCursor, encodeGroupCursor } from './group-cursor';

describe('model group cursor', () => {
  it('round-trips a group name', () => {
    expect(decodeGroupCursor(encodeGroupCursor('fast/chat:v1'))).toBe('fast/chat:v1');
    expect(decodeGroupCursor(undefined)).toBeNull();
  });

  it.each([
    'nope',
    Buffer.from('{"g":3}').toString('base64url'),
    Buffer.from('null').toString('base64url'),
    Buffer.from('{"g":"a\\u0000b"}').toString('base64url'),
    Buffer.from(`{"g":"${'x'.repeat(200)}"}`).toString('base64url'),
  ])('rejects %p with a 400 naming cursor', (bad) =>
    expect(() => decodeGroupCursor(bad)).toThrow(/cursor: invalid cursor/),
  );
});
