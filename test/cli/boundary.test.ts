/**
 * The product CLI and the daemon import no evaluation-harness code: every import under src/
 * that resolves into testbed/ is a failure, except the one dynamic import of the harness entry
 * (testbed/cli/index.ts) in src/cli/harness.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

interface ImportSite {
  file: string;
  specifier: string;
  dynamic: boolean;
}

/** Static imports and re-exports (`import … from '…'`, `import '…'`, `export … from '…'`) and dynamic `import('…')`. */
export function importSites(file: string, text: string): ImportSite[] {
  const out: ImportSite[] = [];
  const statics = /^\s*(?:import|export)\b[^'";]*?(?:\bfrom\s*)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(statics)) out.push({ file, specifier: m[1] ?? '', dynamic: false });
  for (const m of text.matchAll(/\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g)) out.push({ file, specifier: m[1] ?? '', dynamic: true });
  return out;
}

function intoTestbed(site: ImportSite): boolean {
  if (!site.specifier.startsWith('.')) return false;
  const target = relative(ROOT, resolve(dirname(site.file), site.specifier));
  return target === 'testbed' || target.startsWith(`testbed/`);
}

describe('the product / harness boundary', () => {
  const sites = tsFiles(join(ROOT, 'src')).flatMap((f) => importSites(f, readFileSync(f, 'utf8')));

  it('finds the imports it checks', () => {
    expect(sites.length).toBeGreaterThan(100);
    expect(importSites('x.ts', "import { a } from './a.js';\nimport type {\n  B,\n} from '../b.js';\nexport * from './c.js';\nconst m = await import('./d.js');").map((s) => s.specifier)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });

  it('src/ reaches testbed/ only through one dynamic import of testbed/cli/index.ts in src/cli/harness.ts', () => {
    const crossings = sites.filter(intoTestbed).map((s) => `${relative(ROOT, s.file)}: ${s.dynamic ? 'import(' : 'from '}${s.specifier}`);
    expect(crossings).toEqual(['src/cli/harness.ts: import(../../testbed/cli/index.js']);
  });
});
