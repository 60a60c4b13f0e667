import type { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import { retryingLockConflicts } from '@app/db';
import { TollgateError } from '@app/http';

/** What opening a job takes: the caller's team (if named, it must be the key's), type, user, metadata. */
export interface NewJob {
  team_id?: string;
  job_type: string;
  user_id?: string;
  metadata?: Record<string, unknown>;
}

export function assertOwnTeam(principal: TeamPrincipal, teamId: string | undefined): void {
  if (teamId !== undefined && teamId !== principal.teamId) {
    throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
  }
}

/** Opens a pending job for the key's team (one INSERT); used by every route that creates jobs. */
export async function insertJob(
  db: DataSource,
  principal: TeamPrincipal,
  job: NewJob,
): Promise<{ job_id: string; status: string; created_at: Date }> {
  assertOwnTeam(principal, job.team_id);
  const rows: Array<{ job_id: string; status: string; created_at: Date }> =
    await retryingLockConflicts(() =>
      db.query(
        `INSERT INTO jobs (team_id, key_id, job_type, user_id, metadata)
         VALUES ($1, $2, $3, $4, $5) RETURNING job_id, status, created_at`,
        [principal.teamId, principal.keyId, job.job_type, job.user_id ?? null, job.metadata ?? {}],
      ),
    );
  return rows[0];
}
