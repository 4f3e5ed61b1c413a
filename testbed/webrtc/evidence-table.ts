/**
 * The calls of an evidence run side by side: for each arm, the median and range over its pairs
 * of what the issue's gates read (time with frame delay above 400 ms, time below 10 fps, p99
 * frame delay, bitrate), from each call's call.json (evidence-run.ts writes DIR/<pair>-<arm>/).
 * Calls that never held their steady cap are left out and counted.
 *
 *   node dist/testbed/webrtc/evidence-table.js DIR [DIR...]
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface EvidenceCall {
  pair: number;
  arm: string;
  held: boolean;
  frameDelayAbove400msSeconds: number;
  fpsBelow10Seconds: number;
  frameDelayP99Ms: number;
  bitrateMbps: number;
}

export const EVIDENCE_COLUMNS = ['frameDelayAbove400msSeconds', 'fpsBelow10Seconds', 'frameDelayP99Ms', 'bitrateMbps'] as const;
const HEADINGS: Record<(typeof EVIDENCE_COLUMNS)[number], string> = {
  frameDelayAbove400msSeconds: 'frame delay > 400 ms (s)',
  fpsBelow10Seconds: '< 10 fps (s)',
  frameDelayP99Ms: 'p99 frame delay (ms)',
  bitrateMbps: 'bitrate (Mbit/s)',
};

/** One call's figures from its call.json text (the window after the drop or the trace's span). */
export function parseEvidenceCall(dirName: string, json: string): EvidenceCall | undefined {
  const m = /^(\d+)-(.+)$/.exec(dirName);
  if (m === null) return undefined;
  const j = JSON.parse(json) as { steady?: { held?: boolean }; summary?: { after?: Partial<Record<(typeof EVIDENCE_COLUMNS)[number], number>> } };
  const a = j.summary?.after;
  if (a === undefined) return undefined;
  const num = (k: (typeof EVIDENCE_COLUMNS)[number]): number => (typeof a[k] === 'number' ? a[k] : Number.NaN);
  return {
    pair: Number(m[1]),
    arm: m[2] ?? '',
    held: j.steady?.held !== false,
    frameDelayAbove400msSeconds: num('frameDelayAbove400msSeconds'),
    fpsBelow10Seconds: num('fpsBelow10Seconds'),
    frameDelayP99Ms: num('frameDelayP99Ms'),
    bitrateMbps: num('bitrateMbps'),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? (s[(n - 1) / 2] ?? Number.NaN) : ((s[n / 2 - 1] ?? 0) + (s[n / 2] ?? 0)) / 2;
}

const fmt = (x: number, col: (typeof EVIDENCE_COLUMNS)[number]): string => (col === 'frameDelayP99Ms' ? x.toFixed(0) : x.toFixed(2));

/** A markdown table: one row per arm ('without' first, then in first-seen order), median (min-max) per column. */
export function evidenceTable(calls: readonly EvidenceCall[]): string {
  const seen = [...new Set(calls.map((c) => c.arm))];
  const arms = [...seen.filter((a) => a === 'without'), ...seen.filter((a) => a !== 'without')];
  const head = `| arm | calls | ${EVIDENCE_COLUMNS.map((c) => HEADINGS[c]).join(' | ')} |`;
  const rule = `|---|---|${EVIDENCE_COLUMNS.map(() => '---').join('|')}|`;
  const rows = arms.map((arm) => {
    const held = calls.filter((c) => c.arm === arm && c.held);
    const left = calls.filter((c) => c.arm === arm).length - held.length;
    const cells = EVIDENCE_COLUMNS.map((col) => {
      const xs = held.map((c) => c[col]).filter((x) => Number.isFinite(x));
      if (xs.length === 0) return '-';
      return `${fmt(median(xs), col)} (${fmt(Math.min(...xs), col)}-${fmt(Math.max(...xs), col)})`;
    });
    return `| ${arm} | ${held.length}${left > 0 ? ` (+${left} not steady)` : ''} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** Every call under DIR (DIR/<pair>-<arm>/call.json). */
export function readEvidenceCalls(dir: string): EvidenceCall[] {
  const out: EvidenceCall[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name, 'call.json');
    if (!existsSync(p)) continue;
    const c = parseEvidenceCall(name, readFileSync(p, 'utf8'));
    if (c !== undefined) out.push(c);
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const dir of process.argv.slice(2)) process.stdout.write(`${dir}\n\n${evidenceTable(readEvidenceCalls(dir))}\n\n`);
}
