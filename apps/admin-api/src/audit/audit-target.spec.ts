import { auditTarget } from './audit-target';

describe('auditTarget', () => {
  it('takes the last id parameter of the route', () => {
    expect(auditTarget('/api/keys/:key_id/rotate', { key_id: 'k1' }, {}, { key_id: 'k2' })).toEqual(
      {
        type: 'key',
        id: 'k1',
      },
    );
    expect(auditTarget('/api/credits/teams/:team_id/add', { team_id: 't1' }, {}, {})).toEqual({
      type: 'team',
      id: 't1',
    });
    expect(auditTarget('/api/model-groups/:name', { name: 'g' }, undefined, undefined)).toEqual({
      type: 'model_group',
      id: 'g',
    });
  });

  it('on a create, takes the id from the response, else the body', () => {
    expect(
      auditTarget('/api/provider-credentials/create', {}, {}, { credential_id: 'c1' }),
    ).toEqual({ type: 'provider_credential', id: 'c1' });
    expect(auditTarget('/api/teams/create', {}, { team_id: 't9' }, undefined)).toEqual({
      type: 'team',
      id: 't9',
    });
    expect(auditTarget('/api/unknown/thing', {}, {}, {})).toEqual({ type: null, id: null });
  });
});
