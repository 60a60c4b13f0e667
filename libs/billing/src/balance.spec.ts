import { toBalance } from './balance';

describe('toBalance', () => {
  it('turns Postgres bigint strings into numbers and derives remaining = allocated − used − held', () => {
    expect(
      toBalance({
        team_id: 't',
        credits_allocated: '9007199254740',
        credits_used: '40',
        credits_held: '2',
        budget_mode: 'consumption_tokens',
        credits_per_dollar: 12.5,
        tokens_per_credit: 1000,
      }),
    ).toEqual({
      team_id: 't',
      credits_allocated: 9007199254740,
      credits_used: 40,
      credits_held: 2,
      credits_remaining: 9007199254698,
      budget_mode: 'consumption_tokens',
      credits_per_dollar: 12.5,
      tokens_per_credit: 1000,
    });
  });
});
