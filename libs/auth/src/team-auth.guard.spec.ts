import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import passport from 'passport';
import type { DataSource } from 'typeorm';
import type { KeyCacheService } from '@app/cache';
import { TollgateError } from '@app/errors';
import { TeamAuthGuard } from './team-auth.guard';
import type { TeamPrincipal } from './team-principal';
import { generateVirtualKey, hashVirtualKey } from './virtual-key';
import { VirtualKeyStrategy } from './virtual-key.strategy';

const principal = (teamId: string): TeamPrincipal => ({
  keyId: `key-of-${teamId}`,
  keyAlias: null,
  teamId,
  organizationId: 'org',
  teamStatus: 'active',
  keyModels: [],
  expiresAt: null,
  graceExpiresAt: null,
  keyRpmLimit: null,
  keyTpmLimit: null,
  teamRpmLimit: null,
  teamTpmLimit: null,
  maxBudget: null,
});

/**
 * One app's guard over a key cache that knows `keys` (hash → principal), each answered after
 * `delayMs`; last_used_at writes go to a database that accepts them.
 */
function appGuard(keys: Map<string, TeamPrincipal>, delayMs = 0): TeamAuthGuard {
  const cache = {
    getOrLoad: async (hash: string) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return keys.get(hash) ?? null;
    },
  } as unknown as KeyCacheService<TeamPrincipal>;
  const db = { query: () => Promise.resolve([]) } as unknown as DataSource;
  return new TeamAuthGuard(new Reflector(), new VirtualKeyStrategy(db, cache));
}

function context(authorization?: string) {
  const req: { headers: Record<string, string>; user?: TeamPrincipal } = {
    headers: authorization === undefined ? {} : { authorization },
  };
  const ctx = {
    getHandler: () => function handler() {},
    getClass: () => class Controller {},
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
  return { req, ctx };
}

async function outcome(guard: TeamAuthGuard, authorization?: string) {
  const { req, ctx } = context(authorization);
  try {
    await guard.canActivate(ctx);
    return req.user;
  } catch (err) {
    if (err instanceof TollgateError) return err.code;
    throw err;
  }
}

describe('TeamAuthGuard', () => {
  const keyA = generateVirtualKey();
  const keyB = generateVirtualKey();

  it('authenticates through its own app: two apps in one process never see each other', async () => {
    const first = appGuard(new Map([[hashVirtualKey(keyA), principal('team-a')]]));
    const second = appGuard(new Map([[hashVirtualKey(keyB), principal('team-b')]]));
    expect(await outcome(first, `Bearer ${keyA}`)).toMatchObject({ teamId: 'team-a' });
    expect(await outcome(second, `Bearer ${keyB}`)).toMatchObject({ teamId: 'team-b' });
    // the second app's strategy replaced nothing the first one uses
    expect(await outcome(first, `Bearer ${keyB}`)).toBe('INVALID_API_KEY');
    expect(await outcome(second, `Bearer ${keyA}`)).toBe('INVALID_API_KEY');
  });

  it("leaves passport's process-wide registry alone", () => {
    appGuard(new Map());
    const registry = passport as unknown as { _strategy(name: string): unknown };
    expect(registry._strategy('bearer')).toBeUndefined();
  });

  it('gives concurrent requests each its own result', async () => {
    const keys = new Map([
      [hashVirtualKey(keyA), principal('team-a')],
      [hashVirtualKey(keyB), principal('team-b')],
    ]);
    const guard = appGuard(keys, 20);
    const results = await Promise.all([
      outcome(guard, `Bearer ${keyA}`),
      outcome(guard, `Bearer ${keyB}`),
      outcome(guard, 'Bearer sk-not-a-key'),
      outcome(guard, `Bearer ${keyA}`),
    ]);
    expect(results).toEqual([
      expect.objectContaining({ teamId: 'team-a' }),
      expect.objectContaining({ teamId: 'team-b' }),
      'INVALID_API_KEY',
      expect.objectContaining({ teamId: 'team-a' }),
    ]);
  });

  it('refuses a missing or malformed Authorization header', async () => {
    const guard = appGuard(new Map([[hashVirtualKey(keyA), principal('team-a')]]));
    expect(await outcome(guard)).toBe('INVALID_API_KEY');
    expect(await outcome(guard, keyA)).toBe('INVALID_API_KEY');
    expect(await outcome(guard, `Basic ${keyA}`)).toBe('INVALID_API_KEY');
    expect(await outcome(guard, `Bearer ${keyA} extra`)).toBe('INVALID_API_KEY');
  });
});
