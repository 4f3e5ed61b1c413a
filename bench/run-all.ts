/**
 * Runs every benchmark in order, each as a child process with --expose-gc, and prints its output:
 *
 *   parse, fortune-teller, engine, engine-fuzz — any user
 *   capture, nfqueue-hold                  — root only (network namespaces), skipped otherwise
 *
 *   npm run bench                          (builds first)
 *   node dist/bench/run-all.js [name ...]  (only the named benches)
 *
 * Exit status: 1 when a bench that ran failed, else 0 (skipped benches do not count).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Bench {
  name: string;
  file: string;
  root: boolean;
  args: string[];
}

const BENCHES: Bench[] = [
  { name: 'parse', file: 'parse.js', root: false, args: [] },
  { name: 'fortune-teller', file: 'fortune-teller.js', root: false, args: [] },
  { name: 'engine', file: 'engine.js', root: false, args: [] },
  { name: 'engine-fuzz', file: 'engine-fuzz.js', root: false, args: [] },
  { name: 'capture', file: 'capture.js', root: true, args: [] },
  { name: 'nfqueue-hold', file: 'nfqueue-hold.js', root: true, args: [] },
];

function main(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`run-all: unknown bench ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const isRoot = process.getuid?.() === 0;
  const cpu = cpus();
  console.log(
    `zhuge benchmarks — node ${process.version}, ${cpu.length} CPU(s) ${cpu[0]?.model ?? ''}, ` +
      `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}${isRoot ? '' : ', not root: root-only benches skipped'}`,
  );
  const summary: string[] = [];
  for (const b of BENCHES) {
    if (only.length > 0 && !only.includes(b.name)) continue;
    const path = join(here, b.file);
    console.log(`\n=== ${b.name} ===`);
    if (!existsSync(path)) {
      console.log(`(skipped: ${path} not built)`);
      summary.push(`${b.name}: skipped (not built)`);
      continue;
    }
    if (b.root && !isRoot) {
      console.log('(skipped: needs root)');
      summary.push(`${b.name}: skipped (not root)`);
      continue;
    }
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--expose-gc', path, ...b.args], { stdio: ['ignore', 'inherit', 'inherit'] });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (r.status === 0) {
      summary.push(`${b.name}: ok (${secs} s)`);
    } else if (r.status === 2 && b.name === 'nfqueue-hold') {
      // nfqueue-hold exits 2 when the binding cannot run here (addon not built, no NFQUEUE)
      summary.push(`${b.name}: not runnable here (${secs} s)`);
    } else {
      summary.push(`${b.name}: FAILED (exit ${String(r.status)}${r.signal !== null ? `, ${r.signal}` : ''}, ${secs} s)`);
      process.exitCode = 1;
    }
  }
  console.log('\n=== summary ===');
  for (const s of summary) console.log(s);
}

main();
