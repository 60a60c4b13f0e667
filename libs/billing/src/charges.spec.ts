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

  it('bills cached and cache-written prompt tokens at their prices, the rest at the input price', () => {
    // 10,000 prompt tokens: 6,000 cached at $0.30/M, 1,000 written at $3.75/M, 3,000 at $3/M;
    // 2,000 completion tokens (reasoning included) at $15/M
    const prices = {
      inputPerMillion: 3,
      outputPerMillion: 15,
      cachedInputPerMillion: 0.3,
      cacheWritePerMillion: 3.75,
    };
    const costs = callCosts(10_000, 2_000, prices, 50, { cached: 6_000, cacheWrite: 1_000 });
    // (3000×3 + 6000×0.3 + 1000×3.75 + 2000×15) / 1e6 = 0.04455
    expect(costs.providerCostUsd).toBe(0.04455);
    expect(costs.clientCostUsd).toBe(0.066825);
  });

  it('bills cache tokens at the input price when the deployment sets no cache prices', () => {
    const plain = callCosts(1_000, 10, { inputPerMillion: 2, outputPerMillion: 8 }, 0);
    const cached = callCosts(
      1_000,
      10,
      { inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: null },
      0,
      { cached: 900, cacheWrite: 100 },
    );
    expect(cached).toEqual(plain);
  });

  it('never bills more cache tokens than the prompt has', () => {
    const prices = { inputPerMillion: 1, outputPerMillion: 1, cachedInputPerMillion: 0 };
    expect(callCosts(100, 0, prices, 0, { cached: 500 }).providerCostUsd).toBe(0);
    expect(callCosts(100, 0, prices, 0, { cached: -5 }).providerCostUsd).toBe(0.0001);
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
