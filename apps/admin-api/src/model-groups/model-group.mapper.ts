import type { ModelGroup } from '@app/db';

export function toModelGroupResponse(g: ModelGroup) {
  return {
    group_name: g.groupName,
    description: g.description,
    models: g.models,
    created_at: g.createdAt.toISOString(),
    updated_at: g.updatedAt.toISOString(),
  };
}

export type ModelGroupResponse = ReturnType<typeof toModelGroupResponse>;
