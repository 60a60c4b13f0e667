import {
  type AdminClient,
  ApiError,
  listAll,
  type ModelDeployment,
  type ModelGroup,
  type Organization,
  type ProviderCredential,
  type Team,
  unwrap,
  type VirtualKey,
} from '@app/client';
import type { Resource } from './manifest/kinds';
import type { Snapshot } from './plan';

const PAGE = 200;

async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Reads what the plan needs: the file's organizations and teams, their keys, the catalog. */
export async function readSnapshot(admin: AdminClient, resources: Resource[]): Promise<Snapshot> {
  const specs = (kind: string, field: string) =>
    resources.filter((r) => r.kind === kind).map((r) => r.spec[field] as string | undefined);
  const declaredOrgs = resources.filter((r) => r.kind === 'Organization').map((r) => r.name);
  const orgIds = new Set(
    [
      ...declaredOrgs,
      ...specs('Team', 'organization_id'),
      ...specs('ProviderCredential', 'organization_id'),
    ].filter((id): id is string => typeof id === 'string'),
  );
  const teamIds = new Set(
    [
      ...resources.filter((r) => r.kind === 'Team').map((r) => r.name),
      ...specs('VirtualKey', 'team_id'),
    ].filter((id): id is string => typeof id === 'string'),
  );

  const organizations = (
    await Promise.all(
      [...orgIds].map((org_id) =>
        orNull(
          unwrap<Organization>(
            admin.GET('/api/organizations/{org_id}', { params: { path: { org_id } } }),
          ),
        ),
      ),
    )
  ).filter((o): o is Organization => o !== null);

  const teams = new Map<string, Team>();
  for (const team of await Promise.all(
    [...teamIds].map((team_id) =>
      orNull(unwrap<Team>(admin.GET('/api/teams/{team_id}', { params: { path: { team_id } } }))),
    ),
  )) {
    if (team) teams.set(team.team_id, team);
  }
  for (const org of declaredOrgs.filter((id) =>
    organizations.some((o) => o.organization_id === id),
  )) {
    const inOrg = await listAll<Team>((cursor) =>
      admin.GET('/api/teams', { params: { query: { organization_id: org, limit: PAGE, cursor } } }),
    );
    for (const team of inOrg) teams.set(team.team_id, team);
  }

  const keys: VirtualKey[] = [];
  for (const team of teams.values()) {
    if (!teamIds.has(team.team_id) || team.status === 'deleted') continue;
    keys.push(
      ...(await listAll<VirtualKey>((cursor) =>
        admin.GET('/api/teams/{team_id}/keys', {
          params: { path: { team_id: team.team_id }, query: { limit: PAGE, cursor } },
        }),
      )),
    );
  }

  const [credentials, models, groups] = await Promise.all([
    listAll<ProviderCredential>((cursor) =>
      admin.GET('/api/provider-credentials', { params: { query: { limit: PAGE, cursor } } }),
    ),
    listAll<ModelDeployment>((cursor) =>
      admin.GET('/api/models', { params: { query: { limit: PAGE, cursor } } }),
    ),
    listAll<ModelGroup>((cursor) =>
      admin.GET('/api/model-groups', { params: { query: { limit: PAGE, cursor } } }),
    ),
  ]);
  return { organizations, teams: [...teams.values()], keys, credentials, models, groups };
}
