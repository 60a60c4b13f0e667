import {
  type AdminClient,
  type Balance,
  type IssuedKey,
  unwrap,
  type VirtualKey,
} from '@app/client';
import type { Command } from 'commander';
import { adminClient, type Io, UsageError } from '../context';
import { listKeys, listTeams } from './get';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A key by id, or by alias (within --team, or across every team when the alias is unique). */
async function resolveKey(
  admin: AdminClient,
  idOrAlias: string,
  team?: string,
): Promise<VirtualKey> {
  if (UUID.test(idOrAlias)) {
    return unwrap<VirtualKey>(
      admin.GET('/api/keys/{key_id}', { params: { path: { key_id: idOrAlias } } }),
    );
  }
  const teams = team ? [team] : (await listTeams(admin)).map((t) => t.team_id);
  const matches = (await listKeys(admin, teams)).filter(
    (k) => k.key_alias === idOrAlias && k.status === 'active' && !k.rotated_to,
  );
  if (matches.length === 0) {
    throw new UsageError(
      `no active key with id or alias "${idOrAlias}"${team ? ` in team ${team}` : ''}`,
    );
  }
  if (matches.length > 1) {
    const where = matches.map((k) => `${k.team_id}/${k.key_id}`).join(', ');
    throw new UsageError(
      `alias "${idOrAlias}" names ${matches.length} active keys (${where}): pass --team or the key_id`,
    );
  }
  return matches[0];
}

export function registerCredits(program: Command, io: Io): void {
  const credits = program.command('credits').description("Change a team's credits");
  credits
    .command('add')
    .description('Add credits to a team (one ledger row)')
    .argument('<team>', 'team_id')
    .argument('<amount>', 'credits to add, a positive integer')
    .requiredOption('--reason <reason>', 'why (kept on the ledger row)')
    .action(async (team: string, amount: string, options: { reason: string }) => {
      if (!/^[1-9]\d*$/.test(amount))
        throw new UsageError(`amount must be a positive integer, got "${amount}"`);
      const admin = adminClient(program, io);
      const result = await unwrap<{ balance?: Balance } & Partial<Balance>>(
        admin.POST('/api/credits/teams/{team_id}/add', {
          params: { path: { team_id: team } },
          body: { credits: Number(amount), reason: options.reason },
        }),
      );
      const balance = result.balance ?? (result as Balance);
      io.stdout(`Added ${amount} credits to ${team}: ${balance.credits_remaining} remaining.\n`);
    });
}

export function registerKeys(program: Command, io: Io): void {
  const keys = program.command('keys').description('Rotate or revoke a virtual key');
  keys
    .command('rotate')
    .description('Issue a new key in place of this one (shown once)')
    .argument('<key>', 'key_id or key_alias')
    .option('--team <team_id>', 'the team of the alias')
    .option(
      '--grace-period <duration>',
      'how long the old key keeps working, e.g. "1h" (default 0s)',
    )
    .action(async (key: string, options: { team?: string; gracePeriod?: string }) => {
      const admin = adminClient(program, io);
      const old = await resolveKey(admin, key, options.team);
      const issued = await unwrap<IssuedKey>(
        admin.POST('/api/keys/{key_id}/rotate', {
          params: { path: { key_id: old.key_id } },
          body: options.gracePeriod ? { grace_period: options.gracePeriod } : {},
        }),
      );
      io.stdout(
        `Rotated ${old.team_id}/${old.key_alias ?? old.key_id}: old key_id=${old.key_id}, new key_id=${issued.key_id}\n` +
          `New key (shown once, store it now): ${issued.virtual_key}\n`,
      );
    });
  keys
    .command('revoke')
    .description('Revoke a key (refused by the gateway within a second)')
    .argument('<key>', 'key_id or key_alias')
    .option('--team <team_id>', 'the team of the alias')
    .action(async (key: string, options: { team?: string }) => {
      const admin = adminClient(program, io);
      const target = await resolveKey(admin, key, options.team);
      await unwrap(
        admin.DELETE('/api/keys/{key_id}', { params: { path: { key_id: target.key_id } } }),
      );
      io.stdout(
        `Revoked ${target.team_id}/${target.key_alias ?? target.key_id} (key_id=${target.key_id}).\n`,
      );
    });
}
