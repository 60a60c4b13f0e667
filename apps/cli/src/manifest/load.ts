import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import {
  API_VERSION,
  KINDS,
  type Diagnostic,
  type Kind,
  ManifestError,
  type Path,
  type Resource,
} from './kinds';
import { validateSpec } from './schemas';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The offset of `path` in the document: the key of the deepest part of the path that exists. */
function offsetOf(doc: Document, path: Path): number {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/**
 * Parses a multi-document tollgate.yaml and checks every document (envelope, spec against the
 * admin API's schema, no literal secrets, environment variables present, unique names). Throws a
 * ManifestError naming each bad line; returns the resources only when the whole file is valid.
 */
export function loadManifest(file: string, text: string, env: NodeJS.ProcessEnv): Resource[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, keepSourceTokens: false });
  const diagnostics: Diagnostic[] = [];
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  if (!Array.isArray(docs)) return [];

  const resources: Resource[] = [];
  for (const doc of docs) {
    for (const error of [...doc.errors]) {
      diagnostics.push({
        line: lineAt(error.pos[0]),
        message: `YAML: ${error.message.split('\n')[0]}`,
      });
    }
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const line = (path: Path = []) => lineAt(offsetOf(doc, path));
    const report = (path: Path, message: string) => diagnostics.push({ line: line(path), message });
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an empty document
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      report([], 'each document must be a mapping with kind, metadata.name and spec');
      continue;
    }
    const { apiVersion, kind, metadata, spec, ...rest } = value as Record<string, unknown>;
    for (const field of Object.keys(rest)) {
      report([field], `${field} is not allowed (a document has apiVersion, kind, metadata, spec)`);
    }
    if (apiVersion !== undefined && apiVersion !== API_VERSION) {
      report(['apiVersion'], `apiVersion must be ${API_VERSION}`);
    }
    if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
      report(['kind'], `kind must be one of ${KINDS.join(', ')}`);
      continue;
    }
    const name = (metadata as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      report(
        ['metadata', 'name'],
        'metadata.name is required: 1-128 letters, digits, _ . : / @ + - (starting with a letter or digit)',
      );
      continue;
    }
    const extraMeta = Object.keys(metadata as object).filter((k) => k !== 'name');
    for (const field of extraMeta) report(['metadata', field], `metadata.${field} is not allowed`);
    const specObject = spec ?? {};
    for (const problem of validateSpec(kind as Kind, specObject)) {
      report(problem.path, problem.message);
    }
    const resource: Resource = {
      kind: kind as Kind,
      name,
      spec: specObject as Record<string, unknown>,
      line,
    };
    const envName = resource.spec.api_key_env;
    if (kind === 'ProviderCredential' && typeof envName === 'string' && ENV_NAME.test(envName)) {
      if (!env[envName]) {
        report(
          ['spec', 'api_key_env'],
          `spec.api_key_env: environment variable ${envName} is not set`,
        );
      }
    }
    resources.push(resource);
  }

  const seen = new Map<string, Resource>();
  for (const resource of resources) {
    const id = `${resource.kind}/${resource.name}`;
    const first = seen.get(id);
    if (first) {
      diagnostics.push({
        line: resource.line(['metadata', 'name']),
        message: `${id} is declared twice (first at line ${first.line(['metadata', 'name'])})`,
      });
    } else {
      seen.set(id, resource);
    }
  }
  if (diagnostics.length > 0) throw new ManifestError(file, diagnostics);
  return resources;
}
