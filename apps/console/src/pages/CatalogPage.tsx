import type { ModelDeployment, ModelGroup, ProviderCredential } from '@app/client';
import { useQuery } from '@tanstack/react-query';
import { listAll, useApi } from '../api';
import { ErrorText, Loading, Section, StatusBadge } from '../components/ui';

export function CatalogPage() {
  const api = useApi();
  const credentials = useQuery({
    queryKey: ['provider-credentials'],
    queryFn: () =>
      listAll<ProviderCredential>((cursor) =>
        api.GET('/api/provider-credentials', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const models = useQuery({
    queryKey: ['models'],
    queryFn: () =>
      listAll<ModelDeployment>((cursor) =>
        api.GET('/api/models', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const groups = useQuery({
    queryKey: ['model-groups'],
    queryFn: () =>
      listAll<ModelGroup>((cursor) =>
        api.GET('/api/model-groups', { params: { query: { limit: 200, cursor } } }),
      ),
  });
  const credentialName = new Map(
    credentials.data?.map((c) => [c.credential_id, c.credential_name]),
  );

  return (
    <>
      <h1>Model catalog</h1>
      <Section title="Provider credentials">
        {credentials.isPending ? (
          <Loading what="credentials" />
        ) : (
          <ErrorText error={credentials.error} />
        )}
        <div className="table-wrap">
          <table aria-label="Provider credentials">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Provider</th>
                <th scope="col">Organization</th>
                <th scope="col">API key</th>
                <th scope="col">API base</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {credentials.data?.map((c) => (
                <tr key={c.credential_id}>
                  <td>{c.credential_name}</td>
                  <td>{c.provider}</td>
                  <td>{c.organization_id ?? <span className="muted">shared</span>}</td>
                  <td className="mono">{c.has_api_key ? (c.masked_api_key ?? 'set') : '—'}</td>
                  <td className="small">{c.api_base ?? '—'}</td>
                  <td>
                    <StatusBadge status={c.is_active ? 'active' : 'inactive'} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="Deployments">
        {models.isPending ? <Loading what="deployments" /> : <ErrorText error={models.error} />}
        <div className="table-wrap">
          <table aria-label="Deployments">
            <thead>
              <tr>
                <th scope="col">Model name</th>
                <th scope="col">Provider model</th>
                <th scope="col">Credential</th>
                <th scope="col" className="num">
                  Input $/M
                </th>
                <th scope="col" className="num">
                  Output $/M
                </th>
                <th scope="col" className="num">
                  Weight
                </th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {models.data?.map((m) => (
                <tr key={m.model_id}>
                  <td>{m.model_name}</td>
                  <td>
                    {m.provider} / {m.provider_model}
                  </td>
                  <td>
                    {m.credential_id
                      ? (credentialName.get(m.credential_id) ?? m.credential_id)
                      : '—'}
                  </td>
                  <td className="num">{m.input_price_per_million}</td>
                  <td className="num">{m.output_price_per_million}</td>
                  <td className="num">{m.weight}</td>
                  <td>
                    <StatusBadge status={m.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="Model groups">
        {groups.isPending ? <Loading what="model groups" /> : <ErrorText error={groups.error} />}
        <div className="table-wrap">
          <table aria-label="Model groups">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Models (priority order)</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {groups.data?.map((g) => (
                <tr key={g.group_name}>
                  <td>{g.group_name}</td>
                  <td>{g.models.join(' → ')}</td>
                  <td className="small">{g.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
    </>
  );
}
