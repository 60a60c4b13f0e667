import {
  type AdminClient,
  listAll,
  type ModelDeployment,
  type ModelGroup,
  type Team,
  type VirtualKey,
} from '@app/client';
import { Argument, type Command, Option } from 'commander';
import { adminClient, type Io } from '../context';
import { formatTable } from '../format';

const PAGE = 200;
const COLUMNS = {
  teams: [
    'team_id',
    'organization_id',
    'team_alias',
    'status',
    'budget_mode',
    'model_groups',
    'credits_remaining',
  ],
  keys: ['key_id', 'team_id', 'key_alias', 'masked_key', 'status', 'models', 'max_budget', 'spend'],
  models: [
    'model_id',
    'model_name',
    'provider',
    'provider_model',
    'input_price_per_million',
    'output_price_per_million',
    'weight',
    'status',
  ],
  groups: ['group_name', 'models', 'description'],
} as const;
type What = keyof typeof COLUMNS;

interface GetOptions {
  output: 'table' | 'json';
  org?: string;
  team?: string;
}

export async function listTeams(admin: AdminClient, org?: string): Promise<Team[]> {
  return listAll<Team>((cursor) =>
    admin.GET('/api/teams', { params: { query: { organization_id: org, limit: PAGE, cursor } } }),
  );
}

export async function listKeys(admin: AdminClient, teamIds: string[]): Promise<VirtualKey[]> {
  const keys: VirtualKey[] = [];
  for (const team_id of teamIds) {
    keys.push(
      ...(await listAll<VirtualKey>((cursor) =>
        admin.GET('/api/teams/{team_id}/keys', {
          params: { path: { team_id }, query: { limit: PAGE, cursor } },
        }),
      )),
    );
  }
  return keys;
}

async function rows(admin: AdminClient, what: What, options: GetOptions): Promise<object[]> {
  switch (what) {
    case 'teams':
      return listTeams(admin, options.org);
    case 'keys': {
      const teams = options.team
        ? [options.team]
        : (await listTeams(admin, options.org)).map((t) => t.team_id);
      return listKeys(admin, teams);
    }
    case 'models':
      return listAll<ModelDeployment>((cursor) =>
        admin.GET('/api/models', { params: { query: { limit: PAGE, cursor } } }),
      );
    case 'groups':
      return listAll<ModelGroup>((cursor) =>
        admin.GET('/api/model-groups', { params: { query: { limit: PAGE, cursor } } }),
      );
  }
}

export function registerGet(program: Command, io: Io): void {
  program
    .command('get')
    .description('List teams, keys (masked), model deployments or model groups')
    .addArgument(new Argument('<what>', 'what to list').choices(Object.keys(COLUMNS)))
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    )
    .option('--org <organization_id>', 'teams/keys: only this organization')
    .option('--team <team_id>', 'keys: only this team')
    .action(async (what: What, options: GetOptions) => {
      const items = await rows(adminClient(program, io), what, options);
      io.stdout(
        options.output === 'json'
          ? JSON.stringify(items, null, 2) + '\n'
          : formatTable(items as Array<Record<string, unknown>>, [...COLUMNS[what]]),
      );
    });
}
