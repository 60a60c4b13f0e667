import { countOps, type FieldChange, type Op, orderSteps, type Plan } from './plan';

const SIGN: Record<Op, string> = { create: '+', update: '~', delete: '-', unchanged: '=' };

const show = (value: unknown) => (value === undefined ? 'null' : JSON.stringify(value));
const changeLine = (c: FieldChange) =>
  c.secret
    ? `${c.field}: (secret from ${String(c.to)} changed)`
    : `${c.field}: ${show(c.from)} → ${show(c.to)}`;

/** The plan as people read it: a summary line, then one line per resource and one per field change. */
export function formatPlan(plan: Plan): string {
  const counts = countOps(plan);
  const changes = counts.create + counts.update + counts.delete;
  const lines = [
    changes === 0
      ? `Plan: 0 changes (${counts.unchanged} unchanged).`
      : `Plan: ${counts.create} to create, ${counts.update} to update, ${counts.delete} to delete, ${counts.unchanged} unchanged.`,
  ];
  for (const step of orderSteps(plan.steps)) {
    lines.push(`  ${SIGN[step.op]} ${step.label}${step.op === 'unchanged' ? '' : ` (${step.op})`}`);
    for (const change of step.changes) lines.push(`      ${changeLine(change)}`);
  }
  for (const warning of plan.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n') + '\n';
}

/** Rows as aligned columns under a header. */
export function formatTable(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '-';
    if (Array.isArray(value)) return value.map(cell).join(',') || '-';
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const table = [
    columns.map((c) => c.toUpperCase()),
    ...rows.map((r) => columns.map((c) => cell(r[c]))),
  ];
  const widths = columns.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return (
    table
      .map((row) =>
        row
          .map((v, i) => v.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
