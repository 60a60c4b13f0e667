export interface AuditRow {
  audit_id: string;
  method: string;
  route: string;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  status_code: number;
  summary: Record<string, unknown>;
  created_at: Date;
  keyset_at: string;
  keyset_id: string;
}

export function toAuditEntry(row: AuditRow) {
  const { path, ...summary } = row.summary;
  return {
    audit_id: row.audit_id,
    created_at: row.created_at.toISOString(),
    method: row.method,
    route: row.route,
    path: typeof path === 'string' ? path : null,
    target_type: row.target_type,
    target_id: row.target_id,
    request_id: row.request_id,
    status_code: row.status_code,
    summary,
  };
}
