import { DataSource } from 'typeorm';
import { RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';
import { AutoRefillService } from '../src/credits/auto-refill.service';

describe('admin-api credits: add (idempotent), balance, ledger, budget mode, auto-refill', () => {
  let admin: RunningApp;
  let db: DataSource;
  let orgId: string;

  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(admin.url, method, path, { admin: true, body, headers });

  async function newTeam(credits = 0): Promise<string> {
    const teamId = uid('team');
    const res = await api('POST', '/api/teams/create', {
      organization_id: orgId,
      team_id: teamId,
      ...(credits ? { credits_allocated: credits } : {}),
    });
    expect(res.status).toBe(201);
    return teamId;
  }

  async function ledger(teamId: string) {
    const rows: Array<{ n: number; sum: number; allocated: number; used: number }> = await db.query(
      `SELECT (SELECT count(*)::int FROM credit_transactions WHERE team_id = $1) AS n,
                (SELECT COALESCE(sum(credits_amount), 0)::int FROM credit_transactions
                  WHERE team_id = $1) AS sum,
                credits_allocated::int AS allocated, credits_used::int AS used
           FROM teams WHERE team_id = $1`,
      [teamId],
    );
    return rows[0];
  }

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    orgId = uid('org');
    expect(
      (await api('POST', '/api/organizations/create', { organization_id: orgId, name: 'Credits' }))
        .status,
    ).toBe(201);
  });
  afterAll(() => admin.close());

  describe('POST /api/credits/teams/{team_id}/add', () => {
    it('adds credits: 200 with the ledger row and the new balance', async () => {
      const teamId = await newTeam(10);
      const res = await api('POST', `/api/credits/teams/${teamId}/add`, {
        credits: 25,
        reason: 'top-up',
      });
      expect(res.status).toBe(200);
      expect(res.body.transaction).toMatchObject({
        team_id: teamId,
        job_id: null,
        transaction_type: 'allocation',
        credits_amount: 25,
        credits_before: 10,
        credits_after: 35,
        reason: 'top-up',
      });
      expect(res.body.transaction.transaction_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.balance).toEqual({
        team_id: teamId,
        credits_allocated: 35,
        credits_used: 0,
        credits_held: 0,
        credits_remaining: 35,
        budget_mode: 'job_based',
        credits_per_dollar: 10,
        tokens_per_credit: 10000,
      });
      expect(await ledger(teamId)).toEqual({ n: 2, sum: 35, allocated: 35, used: 0 });
    });

    it('validates the body strictly and refuses unknown and deleted teams', async () => {
      const teamId = await newTeam();
      for (const body of [
        { credits: 0 },
        { credits: -5 },
        { credits: 1.5 },
        { credits: '5' },
        {},
        { credits: 5, extra: true },
        { credits: 5, reason: 7 },
      ]) {
        const res = await api('POST', `/api/credits/teams/${teamId}/add`, body);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_ERROR');
      }
      const unknown = await api('POST', `/api/credits/teams/${uid('none')}/add`, { credits: 5 });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('NOT_FOUND');

      await db.query(`UPDATE teams SET status = 'deleted', deleted_at = now() WHERE team_id = $1`, [
        teamId,
      ]);
      const deleted = await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 5 });
      expect(deleted.status).toBe(409);
      expect(deleted.body.code).toBe('CONFLICT');
      expect(await ledger(teamId)).toEqual({ n: 0, sum: 0, allocated: 0, used: 0 });
    });

    it('20 concurrent identical requests with one Idempotency-Key: one ledger row, one result', async () => {
      const teamId = await newTeam(5);
      const key = uid('idem');
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          api(
            'POST',
            `/api/credits/teams/${teamId}/add`,
            { credits: 7, reason: 'once' },
            {
              'Idempotency-Key': key,
            },
          ),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      const inProgress = results.filter((r) => r.status === 409);
      expect(ok.length + inProgress.length).toBe(20);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      for (const r of inProgress) expect(r.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
      const ids = new Set(ok.map((r) => r.body.transaction.transaction_id));
      expect(ids.size).toBe(1);
      for (const r of ok) expect(r.body).toEqual(ok[0].body);
      expect(ok[0].body.transaction.credits_after).toBe(12);

      expect(await ledger(teamId)).toEqual({ n: 2, sum: 12, allocated: 12, used: 0 });

      // a later repeat still replays the first result
      const again = await api(
        'POST',
        `/api/credits/teams/${teamId}/add`,
        { credits: 7, reason: 'once' },
        {
          'Idempotency-Key': key,
        },
      );
      expect(again.status).toBe(200);
      expect(again.body).toEqual(ok[0].body);
      expect((await ledger(teamId)).n).toBe(2);
    });

    it('same key with another body → 422; the key is per team; no key → a new row each time', async () => {
      const teamId = await newTeam();
      const other = await newTeam();
      const key = uid('idem');
      const headers = { 'Idempotency-Key': key };
      expect(
        (await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 3 }, headers)).status,
      ).toBe(200);
      const mismatch = await api(
        'POST',
        `/api/credits/teams/${teamId}/add`,
        { credits: 4 },
        headers,
      );
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.code).toBe('IDEMPOTENCY_MISMATCH');
      const reason = await api(
        'POST',
        `/api/credits/teams/${teamId}/add`,
        { credits: 3, reason: 'x' },
        headers,
      );
      expect(reason.status).toBe(422);
      expect(
        (await api('POST', `/api/credits/teams/${other}/add`, { credits: 3 }, headers)).status,
      ).toBe(200);

      await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 1 });
      await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 1 });
      expect(await ledger(teamId)).toEqual({ n: 3, sum: 5, allocated: 5, used: 0 });
      expect(await ledger(other)).toEqual({ n: 1, sum: 3, allocated: 3, used: 0 });

      const tooLong = await api(
        'POST',
        `/api/credits/teams/${teamId}/add`,
        { credits: 1 },
        {
          'Idempotency-Key': 'k'.repeat(256),
        },
      );
      expect(tooLong.status).toBe(400);
    });

    it('a failed request leaves the key free: a retry after a 404 runs', async () => {
      const teamId = uid('later');
      const headers = { 'Idempotency-Key': uid('idem') };
      expect(
        (await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 2 }, headers)).status,
      ).toBe(404);
      await api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
      const retry = await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 2 }, headers);
      expect(retry.status).toBe(200);
      expect(retry.body.balance.credits_allocated).toBe(2);
    });

    it('while the first request is still uncommitted a repeat answers 409 IDEMPOTENCY_IN_PROGRESS', async () => {
      const teamId = await newTeam();
      const key = uid('idem');
      const runner = db.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        // an in-flight first request: its claim is inserted but not committed
        await runner.query(
          `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, status)
           VALUES ($1, $2, repeat('0', 64), 'in_progress')`,
          [`credits.add:${teamId}`, key],
        );
        const res = await api(
          'POST',
          `/api/credits/teams/${teamId}/add`,
          { credits: 2 },
          {
            'Idempotency-Key': key,
          },
        );
        expect(res.status).toBe(409);
        expect(res.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
      expect((await ledger(teamId)).n).toBe(0);
    });
  });

  describe('balance and transactions', () => {
    it('GET balance → SPEC §8 shape; 404 for an unknown team', async () => {
      const teamId = await newTeam(40);
      await db.query('UPDATE teams SET credits_used = 15, credits_held = 5 WHERE team_id = $1', [
        teamId,
      ]);
      const res = await api('GET', `/api/credits/teams/${teamId}/balance`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        team_id: teamId,
        credits_allocated: 40,
        credits_used: 15,
        credits_held: 5,
        credits_remaining: 20,
        budget_mode: 'job_based',
        credits_per_dollar: 10,
        tokens_per_credit: 10000,
      });
      const missing = await api('GET', `/api/credits/teams/${uid('none')}/balance`);
      expect(missing.status).toBe(404);
    });

    it('GET transactions: newest first, keyset pages that neither skip nor repeat', async () => {
      const teamId = await newTeam(1);
      for (let i = 2; i <= 7; i += 1) {
        expect((await api('POST', `/api/credits/teams/${teamId}/add`, { credits: i })).status).toBe(
          200,
        );
      }
      const seen: Array<{ credits_amount: number; created_at: string; transaction_id: string }> =
        [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `&cursor=${cursor}` : '';
        const page = await api('GET', `/api/credits/teams/${teamId}/transactions?limit=2${q}`);
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.data);
        cursor = page.body.next_cursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(pages).toBe(4); // 7 rows in pages of 2 (the last one empty-free: 2,2,2,1)
      expect(seen.map((r) => r.credits_amount)).toEqual([7, 6, 5, 4, 3, 2, 1]);
      expect(new Set(seen.map((r) => r.transaction_id)).size).toBe(7);
      for (const row of seen) expect(typeof row.credits_amount).toBe('number');

      // the whole ledger sums to allocated − used
      const all = await api('GET', `/api/credits/teams/${teamId}/transactions?limit=200`);
      const sum = all.body.data.reduce(
        (s: number, r: { credits_amount: number }) => s + r.credits_amount,
        0,
      );
      const balance = await api('GET', `/api/credits/teams/${teamId}/balance`);
      expect(sum).toBe(balance.body.credits_allocated - balance.body.credits_used);
    });

    it('transactions: rows of the same millisecond are not skipped by the cursor', async () => {
      const teamId = await newTeam();
      // rows of one millisecond (different microseconds, two with the very same instant):
      // a millisecond cursor would skip the older ones, the id breaks the exact tie
      const micros = ['123900', '123700', '123700', '123500', '123100'];
      for (const [i, us] of micros.entries()) {
        await db.query(
          `INSERT INTO credit_transactions
             (team_id, transaction_type, credits_amount, credits_before, credits_after, created_at)
           VALUES ($1, 'adjustment', 1, $2::bigint, $2::bigint + 1, $3)`,
          [teamId, i, `2026-01-01T00:00:00.${us}Z`],
        );
      }
      await db.query('UPDATE teams SET credits_allocated = 5 WHERE team_id = $1', [teamId]);
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor ? `&cursor=${cursor}` : '';
        const page = await api('GET', `/api/credits/teams/${teamId}/transactions?limit=1${q}`);
        ids.push(...page.body.data.map((r: { transaction_id: string }) => r.transaction_id));
        cursor = page.body.next_cursor;
      } while (cursor && ids.length < 20);
      expect(new Set(ids).size).toBe(5);
    });

    it('rejects a bad limit or cursor (400) and an unknown team (404)', async () => {
      const teamId = await newTeam();
      for (const q of ['limit=0', 'limit=201', 'limit=abc', 'cursor=nope']) {
        const res = await api('GET', `/api/credits/teams/${teamId}/transactions?${q}`);
        expect(res.status).toBe(400);
      }
      const forged = Buffer.from(JSON.stringify([new Date().toISOString(), 'not-a-uuid'])).toString(
        'base64url',
      );
      expect(
        (await api('GET', `/api/credits/teams/${teamId}/transactions?cursor=${forged}`)).status,
      ).toBe(400);
      expect((await api('GET', `/api/credits/teams/${uid('none')}/transactions`)).status).toBe(404);
    });
  });

  describe('PATCH budget-mode', () => {
    it('sets the mode and rates; validates; 404 / 409', async () => {
      const teamId = await newTeam(3);
      const res = await api('PATCH', `/api/credits/teams/${teamId}/budget-mode`, {
        budget_mode: 'consumption_usd',
        credits_per_dollar: 250.5,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        team_id: teamId,
        budget_mode: 'consumption_usd',
        credits_per_dollar: 250.5,
        tokens_per_credit: 10000,
        credits_remaining: 3,
      });
      const tokens = await api('PATCH', `/api/credits/teams/${teamId}/budget-mode`, {
        budget_mode: 'consumption_tokens',
        tokens_per_credit: 500,
      });
      expect(tokens.body).toMatchObject({
        budget_mode: 'consumption_tokens',
        credits_per_dollar: 250.5,
        tokens_per_credit: 500,
      });
      for (const body of [
        { budget_mode: 'free' },
        {},
        { budget_mode: 'job_based', tokens_per_credit: 0 },
        { budget_mode: 'job_based', tokens_per_credit: '10' },
        { budget_mode: 'job_based', credits_per_dollar: -1 },
        { budget_mode: 'job_based', credits_allocated: 5 },
      ]) {
        expect((await api('PATCH', `/api/credits/teams/${teamId}/budget-mode`, body)).status).toBe(
          400,
        );
      }
      expect(
        (
          await api('PATCH', `/api/credits/teams/${uid('none')}/budget-mode`, {
            budget_mode: 'job_based',
          })
        ).status,
      ).toBe(404);
      await db.query(`UPDATE teams SET status = 'deleted' WHERE team_id = $1`, [teamId]);
      expect(
        (
          await api('PATCH', `/api/credits/teams/${teamId}/budget-mode`, {
            budget_mode: 'job_based',
          })
        ).status,
      ).toBe(409);
    });
  });

  describe('auto-refill', () => {
    it('configure: enabling schedules the first refill one period ahead; validation; 404', async () => {
      const teamId = await newTeam();
      const res = await api('POST', `/api/credits/teams/${teamId}/configure-auto-refill`, {
        enabled: true,
        refill_amount: 100,
        refill_period: 'weekly',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        team_id: teamId,
        enabled: true,
        refill_amount: 100,
        refill_period: 'weekly',
      });
      const next = Date.parse(res.body.next_refill_at);
      expect(Math.abs(next - (Date.now() + 7 * 86400_000))).toBeLessThan(60_000);

      // re-saving the same period keeps the date (no skipped or repeated refill)
      const again = await api('POST', `/api/credits/teams/${teamId}/configure-auto-refill`, {
        enabled: true,
        refill_amount: 150,
        refill_period: 'weekly',
      });
      expect(again.body.next_refill_at).toBe(res.body.next_refill_at);
      expect(again.body.refill_amount).toBe(150);

      for (const body of [
        { enabled: true },
        { enabled: true, refill_amount: 10 },
        { enabled: true, refill_amount: 0, refill_period: 'daily' },
        { enabled: true, refill_amount: 10, refill_period: 'hourly' },
        { enabled: 'yes', refill_amount: 10, refill_period: 'daily' },
        { enabled: true, refill_amount: '10', refill_period: 'daily' },
      ]) {
        const bad = await api('POST', `/api/credits/teams/${teamId}/configure-auto-refill`, body);
        expect(bad.status).toBe(400);
      }
      const missing = await api('POST', `/api/credits/teams/${uid('none')}/configure-auto-refill`, {
        enabled: false,
      });
      expect(missing.status).toBe(404);

      const off = await api('POST', `/api/credits/teams/${teamId}/configure-auto-refill`, {
        enabled: false,
      });
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ enabled: false, next_refill_at: null });
    });

    it('two admin-api replicas racing their refill runners: each due team is refilled exactly once', async () => {
      const second = await startAdmin();
      try {
        const teams = await Promise.all(Array.from({ length: 5 }, () => newTeam(10)));
        for (const teamId of teams) {
          const res = await api('POST', `/api/credits/teams/${teamId}/configure-auto-refill`, {
            enabled: true,
            refill_amount: 50,
            refill_period: 'daily',
          });
          expect(res.status).toBe(200);
        }
        await db.query(
          `UPDATE teams SET next_refill_at = now() - interval '1 minute' WHERE team_id = ANY($1)`,
          [teams],
        );
        const runners = [admin, second].map((a) => a.app.get(AutoRefillService));
        const [a, b] = await Promise.all(runners.map((r) => r.runDueRefills()));
        const mine = [...a, ...b].filter((e) => teams.includes(e.team_id));
        expect(mine).toHaveLength(5);
        expect(new Set(mine.map((e) => e.team_id)).size).toBe(5);

        // and again at once: nothing is due any more
        const [c, d] = await Promise.all(runners.map((r) => r.runDueRefills()));
        expect([...c, ...d].filter((e) => teams.includes(e.team_id))).toHaveLength(0);

        for (const teamId of teams) {
          const rows: Array<{ n: number; amount: number }> = await db.query(
            `SELECT count(*)::int AS n, sum(credits_amount)::int AS amount FROM credit_transactions
              WHERE team_id = $1 AND transaction_type = 'refill'`,
            [teamId],
          );
          expect(rows[0]).toEqual({ n: 1, amount: 50 });
          expect(await ledger(teamId)).toEqual({ n: 2, sum: 60, allocated: 60, used: 0 });
          const [{ next }]: Array<{ next: Date }> = await db.query(
            'SELECT next_refill_at AS next FROM teams WHERE team_id = $1',
            [teamId],
          );
          // a missed period is not caught up: the next refill is one period from now
          expect(Math.abs(next.getTime() - (Date.now() + 86400_000))).toBeLessThan(120_000);
        }
      } finally {
        await second.close();
      }
    });

    it('a disabled or deleted team is not refilled', async () => {
      const off = await newTeam();
      const gone = await newTeam();
      await db.query(
        `UPDATE teams SET auto_refill_enabled = (team_id = $2), auto_refill_amount = 10,
                auto_refill_period = 'daily', next_refill_at = now() - interval '1 hour',
                status = CASE WHEN team_id = $2 THEN 'deleted' ELSE status END
          WHERE team_id IN ($1, $2)`,
        [off, gone],
      );
      const refills = await admin.app.get(AutoRefillService).runDueRefills();
      expect(refills.filter((e) => e.team_id === off || e.team_id === gone)).toHaveLength(0);
    });
  });
});
