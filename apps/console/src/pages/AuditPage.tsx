import type { AuditEntry } from '@app/client';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { unwrap, useApi } from '../api';
import { ErrorText, fmt, Loading, Section } from '../components/ui';

type AuditPageData = { data: AuditEntry[]; next_cursor: string | null };

export function AuditPage() {
  const api = useApi();
  const [targetType, setTargetType] = useState('');
  const [targetId, setTargetId] = useState('');
  const filter = {
    target_type: targetType.trim() || undefined,
    target_id: targetId.trim() || undefined,
  };
  const audit = useInfiniteQuery({
    queryKey: ['audit', filter],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap<AuditPageData>(
        api.GET('/api/audit-log', {
          params: { query: { limit: 50, cursor: pageParam, ...filter } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = audit.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <h1>Audit log</h1>
      <Section title="Admin changes">
        <div className="filters" role="search">
          <label>
            Target type
            <select value={targetType} onChange={(e) => setTargetType(e.target.value)}>
              <option value="">Any</option>
              {['organization', 'team', 'key', 'provider_credential', 'model', 'model_group'].map(
                (t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ),
              )}
            </select>
          </label>
          <label>
            Target id
            <input type="search" value={targetId} onChange={(e) => setTargetId(e.target.value)} />
          </label>
        </div>
        {audit.isPending ? <Loading what="audit log" /> : <ErrorText error={audit.error} />}
        <div className="table-wrap">
          <table aria-label="Audit log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col" className="num">
                  Status
                </th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.audit_id}>
                  <td className="small">{fmt.time(a.created_at)}</td>
                  <td className="mono small">
                    {a.method} {a.path ?? a.route}
                  </td>
                  <td>
                    {a.target_type ?? '—'} <span className="muted">{a.target_id ?? ''}</span>
                  </td>
                  <td className="num">{a.status_code}</td>
                  <td className="mono small wrap-anywhere">
                    {Object.keys(a.summary).length ? JSON.stringify(a.summary) : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {audit.hasNextPage && (
          <button
            type="button"
            className="secondary"
            onClick={() => void audit.fetchNextPage()}
            disabled={audit.isFetchingNextPage}
          >
            Load more
          </button>
        )}
      </Section>
    </>
  );
}
