/**
 * The wording of configuration problems: ajv's errors turned into one `expected ... (got ...)`
 * line each, with the YAML position of the offending node and, for an unknown key, the closest
 * known key when it is a plausible typo.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { ConfigProblem } from './config-error.js';
import type { SchemaNode } from './schema.js';
import { dottedPath, pointerToSegments, type Locator } from './yaml-locator.js';

function describeType(t: string): string {
  switch (t) {
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'null':
      return 'null';
    default:
      return t;
  }
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : `the number ${v}`;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

function describeSchema(s: SchemaNode | undefined): string {
  if (s === undefined) return 'a valid value';
  if (typeof s['x-expected'] === 'string') return s['x-expected'];
  if (s.enum !== undefined) return `one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  let base = t === undefined ? 'a valid value' : describeType(t);
  if (s.minimum !== undefined && s.maximum !== undefined) base += ` in ${s.minimum}..${s.maximum}`;
  else if (s.minimum !== undefined) base += ` >= ${s.minimum}`;
  else if (s.maximum !== undefined) base += ` <= ${s.maximum}`;
  return base;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest known key, if close enough to be a plausible typo. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const u = unknown.toLowerCase();
  for (const k of known) {
    const d = k.toLowerCase() === u ? 0 : levenshtein(u, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(unknown.length / 3)));
  return bestD <= limit ? best : undefined;
}

export function ajvProblems(errors: readonly ErrorObject[], loc: Locator): ConfigProblem[] {
  // anyOf/oneOf: one message from the alternatives' wording, not one per failed branch
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const hidden = (e: ErrorObject): boolean =>
    unions.some((u) => u !== e && e.instancePath === u.instancePath && e.schemaPath.startsWith(`${u.schemaPath}/`));

  const out: ConfigProblem[] = [];
  for (const e of errors) {
    if (hidden(e)) continue;
    const segs = pointerToSegments(e.instancePath);
    const parent = e.parentSchema as SchemaNode | undefined;
    const got = describeValue(e.data);
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = String((e.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(parent?.properties ?? {});
        const hint = suggestKey(name, known);
        const p = loc.key(segs, name);
        out.push({
          path: dottedPath([...segs, name]),
          ...p,
          message:
            hint !== undefined
              ? `expected a known key (got unknown key "${name}"; did you mean "${hint}"?)`
              : `expected a known key: ${known.join(', ')} (got unknown key "${name}")`,
        });
        break;
      }
      case 'required': {
        const name = String((e.params as { missingProperty: string }).missingProperty);
        const what = describeSchema(parent?.properties?.[name]);
        out.push({ path: dottedPath([...segs, name]), ...loc.at(segs), message: `expected ${what} (got nothing: this key is required)` });
        break;
      }
      case 'type': {
        out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected ${describeSchema(parent)} (got ${got})` });
        break;
      }
      case 'uniqueItems': {
        const params = e.params as { i: number; j: number };
        const i = Math.max(params.i, params.j); // report the later copy, point at the first
        const j = Math.min(params.i, params.j);
        out.push({
          path: dottedPath([...segs, i]),
          ...loc.at([...segs, i]),
          message: `expected a list without duplicates (got ${describeValue(Array.isArray(e.data) ? e.data[i] : undefined)} twice, also at [${j}])`,
        });
        break;
      }
      default:
        out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected ${describeSchema(parent)} (got ${got})` });
    }
  }
  return out;
}
