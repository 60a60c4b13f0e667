import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { adminClient, type Io, UsageError } from '../context';
import { executePlan, type NewKey } from '../execute';
import { formatPlan } from '../format';
import { loadManifest } from '../manifest/load';
import { ManifestError } from '../manifest/kinds';
import { computePlan, countOps, PlanError } from '../plan';
import { readSnapshot } from '../state';

interface ApplyOptions {
  file: string;
  dryRun?: boolean;
  prune?: boolean;
  outputKeys?: string;
}

export function registerApply(program: Command, io: Io): void {
  program
    .command('apply')
    .description('Reconcile the admin API with a declarative YAML file (prints the plan first)')
    .requiredOption(
      '-f, --file <file>',
      'the YAML file (multi-document: kind, metadata.name, spec)',
    )
    .option('--dry-run', 'print the plan and change nothing')
    .option('--prune', "delete what the file's scope holds and the file no longer names")
    .option(
      '--output-keys <file>',
      'write newly created keys to this file (mode 0600) instead of printing them',
    )
    .action(async (options: ApplyOptions) => apply(program, io, options));
}

async function apply(program: Command, io: Io, options: ApplyOptions): Promise<void> {
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, options.file), 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${options.file}: ${(error as Error).message}`);
  }
  const resources = loadManifest(options.file, text, io.env);
  const admin = adminClient(program, io);
  const snapshot = await readSnapshot(admin, resources);
  let plan;
  try {
    plan = computePlan(resources, snapshot, { prune: options.prune ?? false, env: io.env });
  } catch (error) {
    if (error instanceof PlanError) throw new ManifestError(options.file, error.diagnostics);
    throw error;
  }
  io.stdout(formatPlan(plan));
  const counts = countOps(plan);
  if (options.dryRun) {
    io.stdout('Dry run: nothing was changed.\n');
    return;
  }
  if (counts.create + counts.update + counts.delete === 0) return;

  const done: string[] = [];
  let newKeys: NewKey[];
  try {
    newKeys = await executePlan(admin, plan, snapshot.credentials, io.env, (step) => {
      if (step.op !== 'unchanged') {
        done.push(step.label);
        io.stdout(
          `${step.op === 'create' ? 'created' : step.op === 'update' ? 'updated' : 'deleted'} ${step.label}\n`,
        );
      }
    });
  } catch (error) {
    io.stderr(
      `Apply stopped after ${done.length} change(s); run it again once the cause is fixed.\n`,
    );
    throw error;
  }
  io.stdout(
    `Applied: ${counts.create} created, ${counts.update} updated, ${counts.delete} deleted.\n`,
  );
  writeNewKeys(io, newKeys, options.outputKeys);
}

function writeNewKeys(io: Io, keys: NewKey[], outputFile: string | undefined): void {
  if (keys.length === 0) return;
  if (outputFile) {
    const path = resolve(io.cwd, outputFile);
    writeFileSync(path, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600); // an existing file keeps its old mode otherwise
    io.stdout(
      `Wrote ${keys.length} new key(s) to ${outputFile} (mode 0600); they are not shown again.\n`,
    );
    return;
  }
  io.stdout('New keys (shown once, store them now):\n');
  for (const key of keys) {
    io.stdout(
      `  VirtualKey/${key.team_id}/${key.key_alias}  key_id=${key.key_id}  ${key.virtual_key}\n`,
    );
  }
}
