import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import { getBalance, listTransactions } from '@app/billing';
import { decodeCursor, toPage, TollgateError } from '@app/http';
import { CallJournal } from '../metering/call-journal';

/** Self-service credits: the caller's own team only. */
@Injectable()
export class CreditsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly journal: CallJournal,
  ) {}

  /** Reads see this replica's own calls: its journal is written first (a no-op when empty). */
  async balance(principal: TeamPrincipal, teamId: string) {
    assertOwnTeam(principal, teamId);
    await this.journal.flush();
    return getBalance(this.db, teamId);
  }

  async transactions(principal: TeamPrincipal, teamId: string, limit: number, cursor?: string) {
    assertOwnTeam(principal, teamId);
    await this.journal.flush();
    const after = decodeCursor(cursor);
    return toPage(await listTransactions(this.db, teamId, limit, after), (e) => e);
  }
}

function assertOwnTeam(principal: TeamPrincipal, teamId: string): void {
  if (teamId !== principal.teamId) {
    throw new TollgateError('FORBIDDEN', 'Cannot access credits for a different team');
  }
}
