import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, parseConfig, schemaText, schemaWithDefaults, type SchemaNode } from '../../src/config/index.js';

const SCHEMA = new URL('../../config/zhuge.schema.json', import.meta.url);
const DOCS = new URL('../../docs/configuration.md', import.meta.url);
const MIN = 'interfaces:\n  eth: eth0\n  wlan: wlan0\n';

describe('the schema defaults are generated from CONFIG_DEFAULTS', () => {
  const committed = readFileSync(SCHEMA, 'utf8');

  it('the committed config/zhuge.schema.json is what scripts/gen-config-schema.mjs generates', () => {
    const generated = schemaText(schemaWithDefaults(JSON.parse(committed) as SchemaNode, CONFIG_DEFAULTS));
    // on failure: npx tsc -p tsconfig.build.json && node scripts/gen-config-schema.mjs
    expect(committed).toBe(generated);
  });

  it('a minimal file parses to exactly the defaults table', () => {
    const { interfaces, ...rest } = parseConfig(MIN, 'min.yaml');
    expect(interfaces).toEqual({ eth: 'eth0', wlan: 'wlan0' });
    expect(rest).toEqual(CONFIG_DEFAULTS);
  });

  it('CONFIG_DEFAULTS is frozen', () => {
    expect(Object.isFrozen(CONFIG_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(CONFIG_DEFAULTS.flows.quic.ports)).toBe(true);
  });

  it('a changed default changes the generated schema (leaf, and a removed default)', () => {
    const schema = JSON.parse(committed) as SchemaNode;
    const changed = { ...CONFIG_DEFAULTS, watchdog: { stallMs: 300 } };
    const out = schemaWithDefaults(schema, changed);
    expect(out.properties?.['watchdog']?.properties?.['stallMs']?.default).toBe(300);
    expect(out.properties?.['watchdog']?.default).toEqual({});
    const { log: _log, ...withoutLog } = CONFIG_DEFAULTS;
    const out2 = schemaWithDefaults(schema, withoutLog);
    expect(out2.properties?.['log']?.default).toBeUndefined();
    expect(out2.properties?.['log']?.properties?.['level']?.default).toBeUndefined();
    // the input schema is not modified
    expect(schema.properties?.['watchdog']?.properties?.['stallMs']?.default).toBe(200);
  });

  it('a default for a key the schema lacks is an error', () => {
    const schema = JSON.parse(committed) as SchemaNode;
    expect(() => schemaWithDefaults(schema, { ...CONFIG_DEFAULTS, watchdog: { stallMs: 200, stalMs: 1 } })).toThrow(/watchdog\.stalMs/);
  });
});

describe('docs/configuration.md restates the defaults table', () => {
  it('every default in its tables is the one in CONFIG_DEFAULTS', () => {
    // rows: | `key` | type | `default` | meaning |  (a `\|` inside a cell is not a separator)
    const cells = new Map<string, string>();
    for (const line of readFileSync(DOCS, 'utf8').split('\n')) {
      if (!line.startsWith('| `')) continue;
      const c = line.split(/(?<!\\)\|/).map((x) => x.trim());
      cells.set((c[1] ?? '').replace(/`/g, ''), c[3] ?? '');
    }
    const wrong: string[] = [];
    const walk = (o: object, prefix: string): void => {
      for (const [k, v] of Object.entries(o)) {
        const key = `${prefix}${k}`;
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as object, `${key}.`);
        else if (cells.get(key) !== `\`${JSON.stringify(v)}\``) wrong.push(`${key}: docs ${cells.get(key) ?? '(no row)'}, table ${JSON.stringify(v)}`);
      }
    };
    walk(CONFIG_DEFAULTS, '');
    expect(wrong).toEqual([]);
  });
});
