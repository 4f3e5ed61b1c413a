/**
 * The JSON Schema shipped as config/zhuge.schema.json (draft 2020-12): located next to the
 * installation, parsed once, compiled once by ajv with `useDefaults` (the schema's `default`s,
 * generated from config-defaults.ts by scripts/gen-config-schema.mjs, fill every absent key).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  'x-expected'?: string;
  [k: string]: unknown;
}

/** Finds config/zhuge.schema.json from src/config/ (vitest) or dist/src/config/ (built). */
export function schemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'config', 'zhuge.schema.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('config/zhuge.schema.json not found next to the zhuge installation');
}

let cachedSchema: SchemaNode | undefined;
let cachedValidate: ValidateFunction | undefined;

/** The JSON Schema as shipped (parsed once). */
export function loadSchema(): SchemaNode {
  cachedSchema ??= JSON.parse(readFileSync(schemaPath(), 'utf8')) as SchemaNode;
  return cachedSchema;
}

export function validator(): ValidateFunction {
  if (cachedValidate === undefined) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, strict: true });
    // documentation-only keyword: the human wording of what a value must look like
    ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
    cachedValidate = ajv.compile(loadSchema());
  }
  return cachedValidate;
}
