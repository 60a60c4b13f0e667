import { LLM_CALL_COLUMNS, LlmCallTextColumns } from './llm-call.columns';

describe('LLM_CALL_COLUMNS (read from the LlmCall entity)', () => {
  it('lists every column under its snake_case name with its SQL type and insert fallback', () => {
    const byName = new Map(LLM_CALL_COLUMNS.map((c) => [c.name, c]));
    expect(LLM_CALL_COLUMNS[0]).toEqual({ name: 'call_id', type: 'uuid', fallback: null });
    expect(byName.get('input_price_per_million')).toEqual({
      name: 'input_price_per_million',
      type: 'numeric',
      fallback: null,
    });
    expect(byName.get('attempt')).toMatchObject({ type: 'integer', fallback: '1' });
    expect(byName.get('call_metadata')).toMatchObject({ type: 'jsonb', fallback: "'{}'::jsonb" });
    expect(byName.get('created_at')).toMatchObject({ type: 'timestamptz' });
    expect(byName.has('job' as never)).toBe(false);
  });

  it('names as text exactly the columns node-postgres returns as text (numeric, bigint)', () => {
    const text: LlmCallTextColumns[] = [
      'provider_cost_usd',
      'client_cost_usd',
      'input_price_per_million',
      'output_price_per_million',
      'credits_charged',
    ];
    const numeric = LLM_CALL_COLUMNS.filter((c) => c.type === 'numeric' || c.type === 'bigint');
    expect(numeric.map((c) => c.name).sort()).toEqual([...text].sort());
  });
});
