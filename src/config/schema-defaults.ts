/**
 * Writes a defaults table (config-defaults.ts) into the JSON Schema's `default` keywords: a leaf
 * property gets its value from the table (or loses its `default` when the table has none), a
 * section (an object property) gets `{}` so that ajv's useDefaults creates it and then fills its
 * keys. Pure: the schema text in, the schema text out; scripts/gen-config-schema.mjs writes the
 * result to config/zhuge.schema.json and test/config/schema-defaults.test.ts checks that the
 * committed file is what this produces.
 */
import type { SchemaNode } from './schema.js';

type Table = { readonly [k: string]: unknown };

const isTable = (v: unknown): v is Table => v !== null && typeof v === 'object' && !Array.isArray(v);

function apply(node: SchemaNode, defaults: Table | undefined, path: string): void {
  const props = node.properties ?? {};
  for (const key of Object.keys(defaults ?? {})) {
    if (!(key in props)) throw new Error(`default for ${path}${key}, which the schema does not have`);
  }
  for (const [key, prop] of Object.entries(props)) {
    const value = defaults?.[key];
    if (prop.type === 'object' && prop.properties !== undefined) {
      if (value !== undefined && !isTable(value)) throw new Error(`default for section ${path}${key} is not a mapping`);
      if (value === undefined) delete prop.default;
      else prop.default = {};
      apply(prop, value, `${path}${key}.`);
    } else if (value === undefined) {
      delete prop.default;
    } else {
      prop.default = structuredClone(value);
    }
  }
}

/** A copy of `schema` whose `default`s are exactly the table's. Throws on a table key the schema lacks. */
export function schemaWithDefaults(schema: SchemaNode, defaults: Table): SchemaNode {
  const out = structuredClone(schema);
  apply(out, defaults, '');
  return out;
}

/** The schema file's text: two-space JSON and a final newline. */
export function schemaText(schema: SchemaNode): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
