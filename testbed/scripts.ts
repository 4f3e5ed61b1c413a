/**
 * Locating the compiled entry scripts (player, relay) that run inside a namespace under
 * `ip netns exec`. From compiled code they are siblings in dist/testbed/; from the TypeScript
 * sources (vitest) they are looked up in <repo>/dist/testbed/ — build first (`npm run build`).
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function distScript(name: string): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL(`../dist/testbed/${name}.js`, here) : new URL(`./${name}.js`, here);
  return fileURLToPath(url);
}

/** True when dist/testbed/<name>.js exists and is newer than every given source file. */
export function distIsFresh(name: string, sources: string[]): boolean {
  const out = distScript(name);
  if (!existsSync(out)) return false;
  const outM = statSync(out).mtimeMs;
  return sources.every((s) => !existsSync(s) || statSync(s).mtimeMs <= outM);
}
