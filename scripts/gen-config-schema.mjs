#!/usr/bin/env node
// Regenerates the `default`s of config/zhuge.schema.json from the defaults table
// (src/config/config-defaults.ts). Run from the repository root after changing a default:
//
//     npx tsc -p tsconfig.build.json && node scripts/gen-config-schema.mjs
//
// Everything else in the schema (types, ranges, titles, descriptions) is edited by hand in the
// JSON file; test/config/schema-defaults.test.ts fails until the committed file is regenerated.
// With --check it writes nothing and exits 1 when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { CONFIG_DEFAULTS, schemaText, schemaWithDefaults } = await import(pathToFileURL(`${root}dist/src/config/index.js`).href);
const file = `${root}config/zhuge.schema.json`;
const current = readFileSync(file, 'utf8');
const next = schemaText(schemaWithDefaults(JSON.parse(current), CONFIG_DEFAULTS));
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error(`${file} is out of date: run node scripts/gen-config-schema.mjs`);
    process.exit(1);
  }
  console.log(`${file} is up to date`);
} else if (next === current) {
  console.log(`${file}: unchanged`);
} else {
  writeFileSync(file, next);
  console.log(`${file}: defaults regenerated`);
}
