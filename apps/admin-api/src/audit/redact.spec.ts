import { isSecretField, redact } from './redact';

describe('audit redaction', () => {
  it('replaces every *key* field but keeps key ids and aliases', () => {
    for (const f of [
      'api_key',
      'virtual_key',
      'key',
      'master_key',
      'X-Admin-Key',
      'apiKey',
      'idempotency_key',
      'client_secret',
      'password',
    ]) {
      expect(isSecretField(f)).toBe(true);
    }
    for (const f of [
      'key_id',
      'key_alias',
      'new_key_id',
      'team_id',
      'tokens_per_credit',
      'credits',
      'models',
    ]) {
      expect(isSecretField(f)).toBe(false);
    }
  });

  it('walks nested objects and arrays, and masks key-like strings anywhere', () => {
    const key = 'sk-' + 'A1b2C3d4'.repeat(5);
    expect(
      redact({
        api_key: 'sk-live-123',
        key_alias: 'ci',
        metadata: { note: `rotated ${key}`, nested: [{ master_key: 'x', ok: 1 }] },
      }),
    ).toEqual({
      api_key: '[redacted]',
      key_alias: 'ci',
      metadata: { note: 'rotated [redacted]', nested: [{ master_key: '[redacted]', ok: 1 }] },
    });
    expect(JSON.stringify(redact({ list: [key, { virtual_key: key }] }))).not.toContain(key);
  });

  it("masks other providers' key formats pasted into free text", () => {
    const keys = [
      'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz_0123456789',
      'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123',
      'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW',
      'gsk_AbCdEfGhIjKlMnOpQrStUvWx0123',
      'xai-AbCdEfGhIjKlMnOpQrStUvWx0123',
    ];
    for (const key of keys) {
      expect(redact(`note: ${key} end`)).toBe('note: [redacted] end');
    }
    expect(redact('Authorization: Bearer abcdefghijkl123')).toBe(
      'Authorization: Bearer [redacted]',
    );
    expect(redact('a task-list of sk-8 items')).toBe('a task-list of sk-8 items');
  });

  it('bounds depth and size', () => {
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    expect(JSON.stringify(redact(deep))).toContain('[truncated]');
    expect((redact('x'.repeat(5000)) as string).length).toBeLessThan(1100);
    expect(redact(Array.from({ length: 500 }, (_, i) => i))).toHaveLength(100);
  });
});
