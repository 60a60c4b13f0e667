import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import adminApi from '../../../../openapi/admin-api.json';
import { dotted, type Kind, type Path } from './kinds';

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, unknown>;
  required?: string[];
};

/**
 * Each kind's spec is the admin API's create body (from the committed OpenAPI document, so a new
 * DTO field is accepted as soon as the document has it), less the fields the file gives another
 * way: the id is `metadata.name`, secrets come from environment variables, references are names.
 */
const SPECS: Record<Kind, { dto: string; omit: string[]; add?: Record<string, object> }> = {
  Organization: { dto: 'CreateOrganizationDto', omit: ['organization_id', 'name'], add: {} },
  ProviderCredential: {
    dto: 'CreateProviderCredentialDto',
    omit: ['credential_name', 'api_key'],
    add: { api_key_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
  },
  ModelDeployment: {
    dto: 'CreateModelDto',
    omit: ['credential_id'],
    add: { credential: { type: 'string', minLength: 1 } },
  },
  ModelGroup: { dto: 'CreateModelGroupDto', omit: ['group_name'] },
  Team: { dto: 'CreateTeamDto', omit: ['team_id', 'access_groups'] },
  VirtualKey: {
    dto: 'CreateKeyDto',
    omit: [],
    add: { team_id: { type: 'string', minLength: 1 } },
  },
};
const REQUIRED_EXTRA: Partial<Record<Kind, string[]>> = { VirtualKey: ['team_id'] };

const DOC_ID = 'admin-api.json';
const schemas = (adminApi as { components: { schemas: Record<string, JsonSchema> } }).components
  .schemas;

function specSchema(kind: Kind): JsonSchema {
  const { dto, omit, add } = SPECS[kind];
  const base = schemas[dto];
  if (!base) throw new Error(`openapi/admin-api.json has no schema ${dto}`);
  const properties: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(base.properties ?? {})) {
    if (!omit.includes(name)) properties[name] = schema;
  }
  Object.assign(properties, add ?? {});
  if (kind === 'Organization') properties.name = (base.properties ?? {}).name;
  const required = (base.required ?? []).filter((name) => !omit.includes(name));
  return {
    type: 'object',
    properties: JSON.parse(
      JSON.stringify(properties).replaceAll('"#/components/', `"${DOC_ID}#/components/`),
    ) as Record<string, unknown>,
    required: [...required, ...(REQUIRED_EXTRA[kind] ?? [])],
    additionalProperties: false,
  };
}

let validators: Map<Kind, ValidateFunction> | undefined;

function validatorOf(kind: Kind): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema(adminApi, DOC_ID);
    validators = new Map(
      (Object.keys(SPECS) as Kind[]).map((k) => [k, ajv.compile(specSchema(k))] as const),
    );
  }
  return validators.get(kind)!;
}

/** The spec's field names for `kind` (for messages). */
export function specFields(kind: Kind): string[] {
  return Object.keys(specSchema(kind).properties ?? {});
}

function describe(kind: Kind, error: ErrorObject): { path: Path; message: string } {
  const path: Path = [
    'spec',
    ...error.instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
  ];
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'enum':
      return {
        path,
        message: `${dotted(path)} must be one of ${(params.allowedValues as unknown[]).join(', ')}`,
      };
    case 'required':
      return {
        path,
        message: `${dotted([...path, params.missingProperty as string])} is required`,
      };
    case 'additionalProperties': {
      const field = params.additionalProperty as string;
      const hint =
        kind === 'ProviderCredential' && field === 'api_key'
          ? 'write no secret in the file: name an environment variable with spec.api_key_env'
          : `${kind} fields: ${specFields(kind).join(', ')}`;
      return {
        path: [...path, field],
        message: `${dotted([...path, field])} is not allowed (${hint})`,
      };
    }
    default:
      return { path, message: `${dotted(path)} ${error.message ?? 'is invalid'}` };
  }
}

/** Problems of one spec against its kind's schema, each with the path it is at. */
export function validateSpec(kind: Kind, spec: unknown): Array<{ path: Path; message: string }> {
  const validate = validatorOf(kind);
  if (validate(spec)) return [];
  const seen = new Set<string>();
  return (validate.errors ?? [])
    .filter((e) => e.keyword !== 'if')
    .map((e) => describe(kind, e))
    .filter((d) => (seen.has(d.message) ? false : (seen.add(d.message), true)));
}
