import {
  affordableCompletionTokens,
  BudgetSettings,
  callCosts,
  consumptionCredits,
} from './charges';

const settings = (over: Partial<BudgetSettings>): BudgetSettings => ({
  budgetMode: 'consumption_usd',
  creditsPerDollar: 10,
  tokensPerCredit: 10_000,
  markupPercentage: 0,
  ...over,
});

describe('call cost math', () => {
  it('prices prompt and completion tokens per million and adds the markup to the client cost', () => {
    const costs = callCosts(1000, 500, { inputPerMillion: 2.5, outputPerMillion: 10 }, 20);
    expect(costs.providerCostUsd).toBeCloseTo(0.0075, 12);
    expect(costs.clientCostUsd).toBeCloseTo(0.009, 12);
  });

  it('costs nothing without tokens', () => {
    expect(callCosts(0, 0, { inputPerMillion: 5, outputPerMillion: 5 }, 50)).toEqual({
      providerCostUsd: 0,
      clientCostUsd: 0,
    });
  });

  it('consumption_usd: ceil(client cost × credits_per_dollar)', () => {
    expect(consumptionCredits(settings({}), 0.009, 0)).toBe(1);
    expect(consumptionCredits(settings({ creditsPerDollar: 1000 }), 0.009, 0)).toBe(9);
    expect(consumptionCredits(settings({ creditsPerDollar: 1000 }), 0.0091, 0)).toBe(10);
    expect(consumptionCredits(settings({}), 0, 0)).toBe(0);
  });

  it('does not round a float artefact up a whole credit', () => {
    // 0.1 + 0.2 = 0.30000000000000004 → 3 credits at 10/$, not 4
    expect(consumptionCredits(settings({}), 0.1 + 0.2, 0)).toBe(3);
  });

  it('consumption_tokens: ceil(tokens ÷ tokens_per_credit)', () => {
    const s = settings({ budgetMode: 'consumption_tokens', tokensPerCredit: 100 });
    expect(consumptionCredits(s, 0, 100)).toBe(1);
    expect(consumptionCredits(s, 0, 101)).toBe(2);
    expect(consumptionCredits(s, 0, 0)).toBe(0);
  });

  it('job_based: calls cost nothing (the job costs one credit at completion)', () => {
    expect(consumptionCredits(settings({ budgetMode: 'job_based' }), 5, 5000)).toBe(0);
  });
});

describe('affordableCompletionTokens', () => {
  const prices = { inputPerMillion: 3, outputPerMillion: 15 };
  const creditsFor = (s: BudgetSettings, prompt: number, completion: number) => {
    const costs = callCosts(prompt, completion, prices, s.markupPercentage);
    return consumptionCredits(s, costs.clientCostUsd, prompt + completion);
  };

  it.each([
    settings({ budgetMode: 'consumption_usd', creditsPerDollar: 1000 }),
    settings({ budgetMode: 'consumption_usd', creditsPerDollar: 100, markupPercentage: 25 }),
    settings({ budgetMode: 'consumption_tokens', tokensPerCredit: 10 }),
    settings({ budgetMode: 'consumption_tokens', tokensPerCredit: 7 }),
  ])('is the most answer the credits pay for (%o)', (s) => {
    for (const [credits, prompt] of [
      [1, 0],
      [3, 5],
      [50, 120],
      [1000, 4000],
    ]) {
      const t = affordableCompletionTokens(s, credits, prompt, prices);
      if (creditsFor(s, prompt, 0) > credits) {
        expect(t).toBe(0);
        continue;
      }
      expect(creditsFor(s, prompt, t)).toBeLessThanOrEqual(credits);
      expect(creditsFor(s, prompt, t + 1)).toBeGreaterThan(credits);
    }
  });

  it('does not cap job_based teams or free output', () => {
    expect(affordableCompletionTokens(settings({ budgetMode: 'job_based' }), 1, 10, prices)).toBe(
      Infinity,
    );
    const free = { inputPerMillion: 1, outputPerMillion: 0 };
    expect(affordableCompletionTokens(settings({}), 1, 10, free)).toBe(Infinity);
  });
});
