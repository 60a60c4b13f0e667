import { ApiError } from '@app/client';
import { Command, CommanderError, Option } from 'commander';
import { registerApply } from './commands/apply';
import { registerCredits, registerKeys } from './commands/actions';
import { registerGet } from './commands/get';
import { ManifestError } from './manifest/kinds';
import { PlanError } from './plan';
import { EXIT, type Io, UsageError } from './context';

export { EXIT, type Io } from './context';

/** Runs `tollgate ARGS…` and returns the exit code (never exits the process itself). */
export async function run(args: string[], io: Io): Promise<number> {
  const program = new Command('tollgate')
    .description('Provision and operate Tollgate through its admin API')
    .addOption(new Option('--admin-url <url>', 'admin API base URL (env TOLLGATE_ADMIN_URL)'))
    .addOption(new Option('--admin-key <key>', 'master key (env TOLLGATE_ADMIN_KEY)'))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError();
  registerApply(program, io);
  registerGet(program, io);
  registerCredits(program, io);
  registerKeys(program, io);
  for (const command of program.commands) {
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: Io): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ||
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version'
      ? EXIT.ok
      : EXIT.usage;
  }
  if (error instanceof ManifestError) {
    io.stderr(
      `${error.message}\nNothing was changed: the file has ${error.diagnostics.length} error(s).\n`,
    );
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    io.stderr(`tollgate: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof ApiError) {
    io.stderr(
      `tollgate: the admin API answered ${error.status}${error.code ? ` ${error.code}` : ''}: ${error.detail}\n`,
    );
    return EXIT.failed;
  }
  if (error instanceof PlanError) {
    io.stderr('tollgate: internal error: an unreported plan error\n');
    return EXIT.usage;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`tollgate: ${message}${cause?.message ? ` (${cause.message})` : ''}\n`);
  return EXIT.failed;
}
