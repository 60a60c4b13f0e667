import { INVALID_UTF8, isStorableText, unacceptableInput, verifyUtf8 } from './input-checks';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('input checks', () => {
  it('tells storable text from NUL and lone surrogates', () => {
    expect(isStorableText('héllo 😀')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('\udfff\ud800')).toBe(false);
    expect(isStorableText('x\ud83d')).toBe(false);
  });

  it('names the field that holds unstorable text, in values and in keys', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: 'ok' }, { content: 'a\u0000' }],
    };
    expect(unacceptableInput(body)).toMatch(/^messages\[1\]\.content: .*NUL/);
    expect(unacceptableInput({ call_metadata: { note: '\udfff\ud800' } })).toMatch(
      /^call_metadata\.note: .*surrogate/,
    );
    expect(unacceptableInput({ metadata: { ['k\ud800']: 1 } })).toMatch(/^metadata key: /);
  });

  it('accepts 64 levels of nesting and refuses 65, without recursing', () => {
    expect(unacceptableInput(nested(64))).toBeNull();
    expect(unacceptableInput(nested(65))).toMatch(/nested deeper than 64 levels/);
    expect(unacceptableInput(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)))).toMatch(
      /nested deeper/,
    );
  });

  it("refuses the keys 'constructor' and '__proto__' at any depth, naming where", () => {
    expect(unacceptableInput({ metadata: { constructor: true } })).toBe(
      "metadata: the key 'constructor' is not accepted",
    );
    expect(unacceptableInput(JSON.parse('{"a":[{"b":{"__proto__":{"x":1}}}]}'))).toBe(
      "a[0].b: the key '__proto__' is not accepted",
    );
    expect(unacceptableInput(JSON.parse('{"constructor":[]}'))).toBe(
      "body: the key 'constructor' is not accepted",
    );
    expect(
      unacceptableInput({ metadata: { prototype: 1, Constructor: 2 }, tags: ['constructor'] }),
    ).toBeNull();
  });

  it('passes ordinary bodies, numbers, booleans and null', () => {
    expect(unacceptableInput({ a: 1, b: true, c: null, d: [1, 'two'], e: {} })).toBeNull();
    expect(unacceptableInput(undefined)).toBeNull();
  });

  it('verifyUtf8 refuses a UTF-8 body with bytes that are not UTF-8, as a 400', () => {
    const verify = (bytes: number[], encoding = 'utf-8') =>
      verifyUtf8({} as never, {}, Buffer.from(bytes), encoding);
    expect(() => verify([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])).toThrow(
      expect.objectContaining({ status: 400, type: INVALID_UTF8 }) as Error,
    );
    expect(() => verify([...Buffer.from('{"a":"ÿþ😀"}')])).not.toThrow();
    expect(() => verify([0xff, 0xfe, 0x7b, 0x00], 'utf-16le')).not.toThrow();
  });
});
