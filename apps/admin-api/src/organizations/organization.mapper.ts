import type { Organization } from '@app/db';

export function toOrganizationResponse(org: Organization) {
  return {
    organization_id: org.organizationId,
    name: org.name,
    metadata: org.metadata,
    created_at: org.createdAt.toISOString(),
    updated_at: org.updatedAt.toISOString(),
  };
}

export type OrganizationResponse = ReturnType<typeof toOrganizationResponse>;
