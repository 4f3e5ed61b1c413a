/**
 * The daemon's configuration: YAML (default /etc/zhuge/zhuge.yaml), validated against the JSON
 * Schema shipped as config/zhuge.schema.json (draft 2020-12; editors can use it too), defaults
 * filled in by the schema (whose `default`s are generated from config-defaults.ts), then a few
 * semantic checks the schema cannot express (CIDR prefixes, the HOST:PORT of the metrics endpoint).
 *
 * Every problem is reported with the position of the offending YAML node:
 *
 *     zhuge.yaml:12:18: fortuneTeller.rateWindowMs: expected an integer (got "fast")
 *
 * one line per problem (YAML syntax errors included), so an operator can fix them all at once.
 * `Config` (config.ts) mirrors the schema; test/config/config.test.ts checks that they agree.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { Config } from './config.js';
import { ConfigError } from './config-error.js';
import { ajvProblems } from './problems.js';
import { validator } from './schema.js';
import { semanticProblems } from './semantic.js';
import { makeLocator } from './yaml-locator.js';

export const DEFAULT_CONFIG_PATH = '/etc/zhuge/zhuge.yaml';

function firstLine(msg: string): string {
  const line = msg.split('\n')[0] ?? msg;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

/** Parses and validates YAML text; returns the full Config (defaults filled) or throws ConfigError. */
export function parseConfig(text: string, fileName: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      fileName,
      doc.errors.map((e) => {
        const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        return { path: '(yaml)', line: p.line, col: p.col, message: `YAML syntax error: ${firstLine(e.message)}` };
      }),
    );
  }
  const loc = makeLocator(doc, lc);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(fileName, [{ path: '(yaml)', line: 1, col: 1, message: `YAML error: ${err instanceof Error ? err.message : String(err)}` }]);
  }
  if (data === null || data === undefined) {
    throw new ConfigError(fileName, [{ path: '(root)', line: 1, col: 1, message: 'expected a mapping with at least interfaces.eth and interfaces.wlan (got an empty document)' }]);
  }
  const validate = validator();
  if (!validate(data)) {
    throw new ConfigError(fileName, ajvProblems(validate.errors ?? [], loc));
  }
  const cfg = data as Config;
  const semantic = semanticProblems(cfg, loc);
  if (semantic.length > 0) throw new ConfigError(fileName, semantic);
  return cfg;
}

/** Reads, parses and validates a config file; throws ConfigError (unreadable file included). */
export function loadConfig(path: string = DEFAULT_CONFIG_PATH): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
    throw new ConfigError(path, [{ path: '(file)', line: 0, col: 0, message: `cannot read the configuration (${why})` }]);
  }
  return parseConfig(text, path);
}

export type ReloadResult = { ok: true; config: Config } | { ok: false; error: ConfigError };

/** For SIGHUP: the new config, or the reasons to keep the old one. Never throws a ConfigError. */
export function tryLoadConfig(path: string): ReloadResult {
  try {
    return { ok: true, config: loadConfig(path) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, error: err };
    throw err;
  }
}

/** Keys nested one level, for callers that want to diff two configs. */
export function changedSections(a: Config, b: Config): (keyof Config)[] {
  return (Object.keys(a) as (keyof Config)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
