import { ManifestError } from './kinds';
import { loadManifest } from './load';

const errorsOf = (text: string, env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    loadManifest('t.yaml', text, env);
    return [];
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    return error.message.split('\n');
  }
};

describe('loadManifest', () => {
  it('reads every document of a multi-document file with its kind, name and spec', () => {
    const resources = loadManifest(
      't.yaml',
      `apiVersion: tollgate.dev/v1
kind: Organization
metadata: { name: acme }
---
kind: Team
metadata:
  name: eng
spec:
  organization_id: acme
  model_groups: [basic]
---
`,
      {},
    );
    expect(resources.map((r) => `${r.kind}/${r.name}`)).toEqual(['Organization/acme', 'Team/eng']);
    expect(resources[1].spec).toEqual({ organization_id: 'acme', model_groups: ['basic'] });
    expect(resources[1].line(['spec', 'model_groups'])).toBe(10);
  });

  it('names the line of each problem, across documents, sorted', () => {
    const text = `kind: Team
metadata:
  name: eng
spec:
  organization_id: acme
  model_groups:
    - basic
    - 42
  budget_mode: per_call
---
kind: Team
metadata:
  name: eng
spec: { organization_id: acme }
`;
    expect(errorsOf(text)).toEqual([
      't.yaml:8: spec.model_groups[1] must be string',
      't.yaml:9: spec.budget_mode must be one of job_based, consumption_usd, consumption_tokens',
      't.yaml:13: Team/eng is declared twice (first at line 3)',
    ]);
  });

  it('refuses literal secrets and unset environment variables, and never echoes the secret', () => {
    const text = `kind: ProviderCredential
metadata: { name: main }
spec:
  provider: openai
  api_key: sk-secret-value
---
kind: ProviderCredential
metadata: { name: other }
spec:
  provider: openai
  api_key_env: OPENAI_KEY_FOR_TEST
`;
    const errors = errorsOf(text);
    expect(errors[0]).toMatch(
      /^t\.yaml:5: spec\.api_key is not allowed \(write no secret in the file/,
    );
    expect(errors[1]).toBe(
      't.yaml:11: spec.api_key_env: environment variable OPENAI_KEY_FOR_TEST is not set',
    );
    expect(errors.join('\n')).not.toContain('sk-secret-value');
    expect(errorsOf(text.split('---')[1], { OPENAI_KEY_FOR_TEST: 'sk-x' })).toEqual([]);
  });

  it('checks the envelope: kind, metadata.name, apiVersion, YAML syntax', () => {
    expect(errorsOf('kind: Widget\nmetadata: { name: a }\n')[0]).toMatch(
      /^t\.yaml:1: kind must be one of/,
    );
    expect(errorsOf('kind: Team\nmetadata: {}\nspec: {}\n')[0]).toMatch(
      /^t\.yaml:2: metadata\.name is required/,
    );
    expect(
      errorsOf('apiVersion: v9\nkind: ModelGroup\nmetadata: { name: g }\nspec: { models: [a] }\n'),
    ).toEqual(['t.yaml:1: apiVersion must be tollgate.dev/v1']);
    expect(errorsOf('kind: Team\nmetadata: { name: [\n')[0]).toMatch(/^t\.yaml:\d+: YAML: /);
  });
});
