/** The resource kinds of a tollgate.yaml, in the order apply creates them. */
export const KINDS = [
  'Organization',
  'ProviderCredential',
  'ModelDeployment',
  'ModelGroup',
  'Team',
  'VirtualKey',
] as const;
export type Kind = (typeof KINDS)[number];

export const API_VERSION = 'tollgate.dev/v1';

export type Path = Array<string | number>;

/** One document of the file: `kind`, `metadata.name`, `spec`, and where its fields are. */
export interface Resource {
  kind: Kind;
  name: string;
  spec: Record<string, unknown>;
  /** 1-based line of `path` (from the document's root, e.g. ['spec', 'models', 0]) in the file. */
  line(path?: Path): number;
}

/** A problem in the file, at a line. */
export interface Diagnostic {
  line: number;
  message: string;
}

/** The file cannot be applied; nothing was changed. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
  ) {
    super(
      [...diagnostics]
        .sort((a, b) => a.line - b.line)
        .map((d) => `${file}:${d.line}: ${d.message}`)
        .join('\n'),
    );
    this.name = 'ManifestError';
  }
}

/** `spec.models[0]` for ['spec', 'models', 0]. */
export function dotted(path: Path): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
    '',
  );
}
