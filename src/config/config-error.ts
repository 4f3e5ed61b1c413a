/** A configuration problem located in the YAML file, and the error carrying all of them. */

export interface ConfigProblem {
  /** Dotted path of the offending key (`flows.quic.ports[1]`), `(root)` for the document, `(yaml)` for syntax errors. */
  path: string;
  /** 1-based line and column in the file; 0 when the file could not be read at all. */
  line: number;
  col: number;
  /** What is wrong: `expected ... (got ...)`. */
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly fileName: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => formatProblem(fileName, p)).join('\n'));
  }
}

/** `file:line:col: path: message` (no position when the file could not be read). */
export function formatProblem(fileName: string, p: ConfigProblem): string {
  const where = p.line > 0 ? `${fileName}:${p.line}:${p.col}` : fileName;
  return `${where}: ${p.path}: ${p.message}`;
}
