import { startGateway } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { statements } from '../../../test/helpers/round-trips';
import { hello, World } from './gateway-fixtures';

/**
 * The first use of a key on a replica (a key cache miss) costs what it must and no more: the key
 * is read by a statement prepared once per connection, and its last_used_at is written off the
 * request path together with the other keys first used within the same second — before the
 * replica's pools close when it shuts down.
 */
describe('first use of a key (key cache miss)', () => {
  let w: World;
  let group: string;

  beforeAll(async () => {
    w = await World.start();
    ({ group } = await w.modelInGroup());
  });
  afterAll(() => w.stop());

  const v1 = (gateway: string, key: string) =>
    call(gateway, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model: group, messages: hello, max_tokens: 5 },
    });

  /** A team and `n` more keys of it: every key id with its key. */
  async function keys(n: number): Promise<Array<{ keyId: string; key: string }>> {
    const team = await w.team({ groups: [group], credits: 100 });
    const own = await w.pg.query<{ key_id: string }>(
      'SELECT key_id FROM virtual_keys WHERE team_id = $1',
      [team.teamId],
    );
    const all = [{ keyId: own.rows[0].key_id, key: team.key }];
    for (let i = 0; i < n; i++) {
      const res = await call(w.admin.url, 'POST', `/api/teams/${team.teamId}/keys`, {
        admin: true,
        body: {},
      });
      expect(res.status).toBe(201);
      all.push({ keyId: res.body.key_id as string, key: res.body.virtual_key as string });
    }
    return all;
  }

  const unused = async (keyIds: string[]) =>
    (
      await w.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM virtual_keys WHERE key_id = ANY($1) AND last_used_at IS NULL',
        [keyIds],
      )
    ).rows[0].n;

  /** UPDATEs of last_used_at that name any of `keyIds`. */
  const lastUsedWrites = (keyIds: string[]) =>
    statements(
      (text, values) =>
        text.includes('SET last_used_at') &&
        [values[0]].flat().some((id) => keyIds.includes(id as string)),
    );

  it('keys first used within a second share one last_used_at write', async () => {
    const all = await keys(5);
    const ids = all.map((k) => k.keyId);
    const writes = lastUsedWrites(ids);
    try {
      const answers = await Promise.all(all.map((k) => v1(w.gateway.url, k.key)));
      expect(answers.map((a) => a.status)).toEqual(all.map(() => 200));
      await eventually(async () => (await unused(ids)) === 0, 5000);
      // written on first use, each key would be a statement of its own (6)
      expect(writes.count()).toBe(1);
      // used again within 30 s: not written again
      expect((await v1(w.gateway.url, all[0].key)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(writes.count()).toBe(1);
    } finally {
      writes.stop();
    }
  });

  it('a key cache miss reads the key with a prepared statement', async () => {
    const [{ key }] = await keys(0);
    const prepared = statements((_text, _values, name) => name === 'tollgate_principal');
    try {
      expect((await v1(w.gateway.url, key)).status).toBe(200);
      expect(prepared.count()).toBe(1);
      // the same replica within its key cache's second: no read at all
      expect((await v1(w.gateway.url, key)).status).toBe(200);
      expect(prepared.count()).toBe(1);
    } finally {
      prepared.stop();
    }
  });

  it('a replica that shuts down writes the last_used_at still due before its pools close', async () => {
    const all = await keys(2);
    const ids = all.map((k) => k.keyId);
    const replica = await startGateway();
    try {
      for (const k of all) expect((await v1(replica.url, k.key)).status).toBe(200);
    } finally {
      await replica.close(); // within the second the writes wait for
    }
    expect(await unused(ids)).toBe(0);
  });
});
