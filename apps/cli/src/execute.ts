import {
  type AdminClient,
  type CreatedTeam,
  type IssuedKey,
  type ModelDeployment,
  type ProviderCredential,
  type Team,
  unwrap,
  type VirtualKey,
} from '@app/client';
import type { Resource } from './manifest/kinds';
import { credentialOrg, keyAlias, orderSteps, type Plan, type Step } from './plan';

/** A key created by this apply: the only time its secret is known. */
export interface NewKey {
  name: string;
  team_id: string;
  key_alias: string;
  key_id: string;
  virtual_key: string;
}

const omit = (spec: Record<string, unknown>, ...fields: string[]) =>
  Object.fromEntries(Object.entries(spec).filter(([field]) => !fields.includes(field)));

/** The changed fields of a step as a partial body (`rename` maps a file field to the API's). */
function changedBody(step: Step, rename: Record<string, string> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const change of step.changes) body[rename[change.field] ?? change.field] = change.to;
  return body;
}

/**
 * Carries out the plan in dependency order (creates and updates, then deletes), resolving names
 * to the server's ids as it goes. `onStep` is told after each step; a failing call throws the
 * API's error and leaves the remaining steps undone.
 */
export async function executePlan(
  admin: AdminClient,
  plan: Plan,
  credentials: ProviderCredential[],
  env: NodeJS.ProcessEnv,
  onStep: (step: Step) => void,
): Promise<NewKey[]> {
  const newKeys: NewKey[] = [];
  const credentialIds = new Map<string, string>(
    credentials.map((c) => [
      JSON.stringify([c.organization_id ?? null, c.credential_name]),
      c.credential_id,
    ]),
  );
  const byName = new Map(credentials.map((c) => [c.credential_name, c.credential_id]));
  const declaredCredentials = plan.steps
    .map((s) => s.resource)
    .filter((r): r is Resource => r?.kind === 'ProviderCredential');
  const credentialId = (name: string) => {
    const declared = declaredCredentials.find((r) => r.name === name);
    return declared
      ? credentialIds.get(JSON.stringify([credentialOrg(declared), declared.name]))
      : byName.get(name);
  };
  const secretOf = (r: Resource) => {
    const envName = r.spec.api_key_env as string | undefined;
    return envName ? env[envName] : undefined;
  };
  // Keys a new team's first key can become (the API issues one named "default" with every team).
  const adopted = new Set<Step>();

  for (const step of orderSteps(plan.steps)) {
    if (step.op === 'unchanged' || adopted.has(step)) continue;
    const r = step.resource;
    const body = (value: Record<string, unknown>) => value as never;
    switch (step.kind) {
      case 'Organization': {
        if (step.op !== 'create' || !r) break;
        await unwrap(
          admin.POST('/api/organizations/create', {
            body: {
              organization_id: r.name,
              name: (r.spec.name as string) ?? r.name,
              ...omit(r.spec, 'name'),
            },
          }),
        );
        break;
      }
      case 'ProviderCredential': {
        const current = step.current as ProviderCredential | undefined;
        if (step.op === 'delete' && current) {
          await unwrap(
            admin.DELETE('/api/provider-credentials/{credential_id}', {
              params: { path: { credential_id: current.credential_id } },
            }),
          );
        } else if (step.op === 'create' && r) {
          const api_key = secretOf(r);
          const created = await unwrap<ProviderCredential>(
            admin.POST('/api/provider-credentials/create', {
              body: body({
                ...omit(r.spec, 'api_key_env'),
                credential_name: r.name,
                ...(api_key ? { api_key } : {}),
              }),
            }),
          );
          credentialIds.set(
            JSON.stringify([created.organization_id ?? null, created.credential_name]),
            created.credential_id,
          );
        } else if (step.op === 'update' && r && current) {
          const patch = changedBody(step);
          if ('api_key' in patch) patch.api_key = secretOf(r);
          await unwrap(
            admin.PUT('/api/provider-credentials/{credential_id}', {
              params: { path: { credential_id: current.credential_id } },
              body: body(patch),
            }),
          );
        }
        break;
      }
      case 'ModelDeployment': {
        const current = step.current as ModelDeployment | undefined;
        if (step.op === 'delete' && current) {
          await unwrap(
            admin.DELETE('/api/models/{model_id}', {
              params: { path: { model_id: current.model_id } },
            }),
          );
        } else if (step.op === 'create' && r) {
          const name = r.spec.credential as string | undefined;
          await unwrap(
            admin.POST('/api/models/create', {
              body: body({
                ...omit(r.spec, 'credential'),
                ...(name ? { credential_id: credentialId(name) } : {}),
              }),
            }),
          );
        } else if (step.op === 'update' && current) {
          const patch = changedBody(step, { credential: 'credential_id' });
          if (typeof patch.credential_id === 'string')
            patch.credential_id = credentialId(patch.credential_id);
          await unwrap(
            admin.PUT('/api/models/{model_id}', {
              params: { path: { model_id: current.model_id } },
              body: body(patch),
            }),
          );
        }
        break;
      }
      case 'ModelGroup': {
        if (step.op === 'create' && r) {
          await unwrap(
            admin.POST('/api/model-groups/create', {
              body: body({ ...r.spec, group_name: r.name }),
            }),
          );
        } else if (step.op === 'update' && r) {
          await unwrap(
            admin.PUT('/api/model-groups/{group_name}/models', {
              params: { path: { group_name: r.name } },
              body: { models: r.spec.models as string[] },
            }),
          );
        }
        break;
      }
      case 'Team': {
        const current = step.current as Team | undefined;
        if (step.op === 'delete' && current) {
          await unwrap(
            admin.DELETE('/api/teams/{team_id}', {
              params: { path: { team_id: current.team_id } },
            }),
          );
        } else if (step.op === 'create' && r) {
          const team = await unwrap<CreatedTeam>(
            admin.POST('/api/teams/create', {
              body: body({ ...r.spec, team_id: r.name }),
            }),
          );
          const first = plan.steps.find(
            (s) =>
              s.kind === 'VirtualKey' &&
              s.op === 'create' &&
              s.resource?.spec.team_id === r.name &&
              keyAlias(s.resource) === 'default',
          );
          if (first?.resource) {
            const patch = omit(first.resource.spec, 'team_id', 'key_alias');
            if (Object.keys(patch).length > 0) {
              await unwrap(
                admin.PATCH('/api/keys/{key_id}', {
                  params: { path: { key_id: team.key_id } },
                  body: body(patch),
                }),
              );
            }
            newKeys.push({
              name: first.resource.name,
              team_id: r.name,
              key_alias: 'default',
              key_id: team.key_id,
              virtual_key: team.virtual_key,
            });
            adopted.add(first);
            onStep(first);
          } else {
            // The team gets exactly the keys the file declares.
            await unwrap(
              admin.DELETE('/api/keys/{key_id}', { params: { path: { key_id: team.key_id } } }),
            );
          }
        } else if (step.op === 'update' && r && current) {
          const { model_groups, ...patch } = changedBody(step);
          if (Object.keys(patch).length > 0) {
            await unwrap(
              admin.PATCH('/api/teams/{team_id}', {
                params: { path: { team_id: r.name } },
                body: body(patch),
              }),
            );
          }
          if (model_groups !== undefined) {
            await unwrap(
              admin.PUT('/api/teams/{team_id}/model-groups', {
                params: { path: { team_id: r.name } },
                body: { model_groups: model_groups as string[] },
              }),
            );
          }
        }
        break;
      }
      case 'VirtualKey': {
        const current = step.current as VirtualKey | undefined;
        if (step.op === 'delete' && current) {
          await unwrap(
            admin.DELETE('/api/keys/{key_id}', { params: { path: { key_id: current.key_id } } }),
          );
        } else if (step.op === 'create' && r) {
          const team_id = r.spec.team_id as string;
          const key = await unwrap<IssuedKey>(
            admin.POST('/api/teams/{team_id}/keys', {
              params: { path: { team_id } },
              body: body({ ...omit(r.spec, 'team_id'), key_alias: keyAlias(r) }),
            }),
          );
          newKeys.push({
            name: r.name,
            team_id,
            key_alias: keyAlias(r),
            key_id: key.key_id,
            virtual_key: key.virtual_key,
          });
        } else if (step.op === 'update' && current) {
          await unwrap(
            admin.PATCH('/api/keys/{key_id}', {
              params: { path: { key_id: current.key_id } },
              body: body(changedBody(step)),
            }),
          );
        }
        break;
      }
    }
    onStep(step);
  }
  return newKeys;
}
