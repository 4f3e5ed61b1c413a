/**
 * The WebRTC gates of the issue "WebRTC over fluctuating Wi-Fi", judged on the runs of
 * `zhuge eval drop|trace --sender gcc` (runs.partial.jsonl or results.json of its --out
 * directory): per point (drop factor k, or trace file) the median of each arm over its pairs,
 * the spread (min..max) of the arm without zhuge, and whether each gate holds. Pure apart from
 * reading the file; prints Markdown.
 *
 *   node dist/testbed/eval/rtc-gates.js DIR|FILE
 *
 * Drop gates (per k): time with frame delay > 400 ms at least 50 % shorter (median), and never
 * longer than the median without plus the spread without; time below 10 fps not longer; GCC below
 * the new capacity sooner; the bitrate after the drop at least 0.85 of the capacity.
 * Trace gates (per trace, then on average): share of frames older than 400 ms at least 50 % lower
 * on average and higher on none by more than the spread; p99 frame delay lower; time below 10
 * fps not longer on average; bitrate at least 0.9 of the arm without.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantile } from '../stats.js';
import type { EvalRun } from './stats.js';

export interface ArmStats {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function armStats(xs: readonly number[]): ArmStats {
  const v = xs.filter((x) => !Number.isNaN(x));
  return { n: v.length, median: quantile(v, 0.5), min: v.length > 0 ? Math.min(...v) : Number.NaN, max: v.length > 0 ? Math.max(...v) : Number.NaN };
}

export interface PointGates {
  point: string;
  pairs: number;
  late: { without: ArmStats; with: ArmStats; halved: boolean; withinSpread: boolean };
  fps: { without: ArmStats; with: ArmStats; notLonger: boolean };
  gcc: { without: ArmStats; with: ArmStats; sooner: boolean };
  bitrate: { with: ArmStats; without: ArmStats; ok: boolean };
  /** GCC's own target after the drop over the capacity (every stream and header; not a gate: what the video figure leaves out) */
  gccTarget: { with: ArmStats; without: ArmStats };
}

/** NaN (GCC never below the capacity) counts as the window's end: later than any number. */
function neverAsInfinity(xs: number[]): number[] {
  return xs.map((x) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x));
}

function metric(runs: readonly EvalRun[], zhuge: boolean, key: string): number[] {
  return runs.filter((r) => r.zhuge === zhuge).map((r) => r.metrics[key] ?? Number.NaN);
}

/** One drop factor's gates. */
export function dropGates(k: number, runs: readonly EvalRun[]): PointGates {
  const lw = armStats(metric(runs, false, 'frameDelayAbove400msSeconds'));
  const lz = armStats(metric(runs, true, 'frameDelayAbove400msSeconds'));
  const fw = armStats(metric(runs, false, 'fpsBelow10Seconds'));
  const fz = armStats(metric(runs, true, 'fpsBelow10Seconds'));
  const gw = armStats(neverAsInfinity(metric(runs, false, 'gccBelowCapacityAfterMs')));
  const gz = armStats(neverAsInfinity(metric(runs, true, 'gccBelowCapacityAfterMs')));
  const bz = armStats(metric(runs, true, 'bitrateOverCapacity'));
  const bw = armStats(metric(runs, false, 'bitrateOverCapacity'));
  return {
    point: `k=${k}`,
    pairs: Math.min(lw.n, lz.n),
    late: { without: lw, with: lz, halved: lz.median <= 0.5 * lw.median, withinSpread: lz.median <= lw.median + (lw.max - lw.min) },
    fps: { without: fw, with: fz, notLonger: fz.median <= fw.median },
    gcc: { without: gw, with: gz, sooner: gz.median < gw.median },
    bitrate: { with: bz, without: bw, ok: bz.median >= 0.85 },
    gccTarget: { with: armStats(metric(runs, true, 'gccTargetOverCapacity')), without: armStats(metric(runs, false, 'gccTargetOverCapacity')) },
  };
}

export interface TraceGates {
  trace: string;
  pairs: number;
  share: { without: ArmStats; with: ArmStats };
  p99: { without: ArmStats; with: ArmStats };
  fps: { without: ArmStats; with: ArmStats };
  bitrateRatio: number;
}

export function traceGates(trace: string, runs: readonly EvalRun[]): TraceGates {
  const bw = armStats(metric(runs, false, 'bitrateMbps'));
  const bz = armStats(metric(runs, true, 'bitrateMbps'));
  return {
    trace,
    pairs: Math.min(bw.n, bz.n),
    share: { without: armStats(metric(runs, false, 'framesAbove400msShare')), with: armStats(metric(runs, true, 'framesAbove400msShare')) },
    p99: { without: armStats(metric(runs, false, 'frameDelayP99Ms')), with: armStats(metric(runs, true, 'frameDelayP99Ms')) },
    fps: { without: armStats(metric(runs, false, 'fpsBelow10Seconds')), with: armStats(metric(runs, true, 'fpsBelow10Seconds')) },
    bitrateRatio: bz.median / bw.median,
  };
}

const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : x === Number.POSITIVE_INFINITY ? 'never' : '-');
const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : x === Number.POSITIVE_INFINITY ? 'never' : '-');
const arm = (s: ArmStats, f: (x: number) => string): string => `${f(s.median)} (${f(s.min)}-${f(s.max)})`;
const yes = (b: boolean): string => (b ? 'yes' : '**no**');

export function dropTable(points: readonly PointGates[]): string {
  const lines = [
    '| k | pairs | frame delay > 400 ms (s): without / with (min-max) | halved | within spread | < 10 fps (s): without / with | not longer | GCC < capacity after (ms): without / with | sooner | bitrate / capacity with (without) | >= 0.85 | GCC target / capacity with (without) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of points) {
    lines.push(
      `| ${p.point.slice(2)} | ${p.pairs} | ${arm(p.late.without, f2)} / ${arm(p.late.with, f2)} | ${yes(p.late.halved)} | ${yes(p.late.withinSpread)} | ${arm(p.fps.without, f2)} / ${arm(p.fps.with, f2)} | ${yes(p.fps.notLonger)} | ${arm(p.gcc.without, f0)} / ${arm(p.gcc.with, f0)} | ${yes(p.gcc.sooner)} | ${f2(p.bitrate.with.median)} (${f2(p.bitrate.without.median)}) | ${yes(p.bitrate.ok)} | ${f2(p.gccTarget.with.median)} (${f2(p.gccTarget.without.median)}) |`,
    );
  }
  const count = (g: (p: PointGates) => boolean): string => `${points.filter(g).length}/${points.length}`;
  lines.push('');
  lines.push(
    `Gates: frame delay > 400 ms halved at ${count((p) => p.late.halved)} points (8/10 needed), within the spread at ${count((p) => p.late.withinSpread)}, ` +
      `< 10 fps not longer at ${count((p) => p.fps.notLonger)}, GCC sooner at ${count((p) => p.gcc.sooner)}, bitrate >= 0.85 of capacity at ${count((p) => p.bitrate.ok)}.`,
  );
  return lines.join('\n');
}

export function traceTable(ts: readonly TraceGates[]): string {
  const lines = [
    '| trace | pairs | frames > 400 ms (share): without / with | p99 frame delay (ms): without / with | < 10 fps (s): without / with | bitrate with / without |',
    '|---|---|---|---|---|---|',
  ];
  for (const t of ts) {
    lines.push(`| ${t.trace} | ${t.pairs} | ${arm(t.share.without, (x) => x.toFixed(3))} / ${arm(t.share.with, (x) => x.toFixed(3))} | ${arm(t.p99.without, f0)} / ${arm(t.p99.with, f0)} | ${arm(t.fps.without, f2)} / ${arm(t.fps.with, f2)} | ${f2(t.bitrateRatio)} |`);
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const sw = mean(ts.map((t) => t.share.without.median));
  const sz = mean(ts.map((t) => t.share.with.median));
  const worse = ts.filter((t) => t.share.with.median > t.share.without.median + (t.share.without.max - t.share.without.min)).length;
  const p99Lower = ts.filter((t) => t.p99.with.median < t.p99.without.median).length;
  const fw = mean(ts.map((t) => t.fps.without.median));
  const fz = mean(ts.map((t) => t.fps.with.median));
  const br = mean(ts.map((t) => t.bitrateRatio));
  lines.push('');
  lines.push(
    `Gates: share of frames > 400 ms on average ${sw.toFixed(3)} without, ${sz.toFixed(3)} with (${sw > 0 ? `${((1 - sz / sw) * 100).toFixed(0)} % lower; 50 % needed` : 'none without'}), higher beyond the spread on ${worse} of ${ts.length}; ` +
      `p99 lower on ${p99Lower} of ${ts.length}; < 10 fps on average ${fw.toFixed(2)} vs ${fz.toFixed(2)} s; bitrate with/without on average ${br.toFixed(2)} (0.9 needed).`,
  );
  return lines.join('\n');
}

export function readRuns(path: string): EvalRun[] {
  const file = existsSync(join(path, 'results.json')) ? join(path, 'results.json') : existsSync(join(path, 'runs.partial.jsonl')) ? join(path, 'runs.partial.jsonl') : path;
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl')) return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as EvalRun);
  const j = JSON.parse(text) as { runs?: EvalRun[] };
  return j.runs ?? [];
}

/** Gate tables for whatever the runs hold (drop points, trace points, or both). */
export function gatesMarkdown(runs: readonly EvalRun[]): string {
  // JSON writes NaN as null
  const clean = runs.map((r) => ({ ...r, metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, typeof v === 'number' ? v : Number.NaN])) }));
  const out: string[] = [];
  const ks = [...new Set(clean.filter((r) => r.k !== undefined).map((r) => r.k ?? 0))].sort((a, b) => a - b);
  if (ks.length > 0) out.push(dropTable(ks.map((k) => dropGates(k, clean.filter((r) => r.k === k)))));
  const traces = [...new Set(clean.filter((r) => r.trace !== undefined).map((r) => r.trace ?? ''))];
  if (traces.length > 0) out.push(traceTable(traces.map((t) => traceGates(t, clean.filter((r) => r.trace === t)))));
  return out.join('\n\n');
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const path = process.argv[2];
  if (path === undefined) {
    process.stderr.write('usage: node dist/testbed/eval/rtc-gates.js DIR|FILE\n');
    process.exit(2);
  }
  process.stdout.write(`${gatesMarkdown(readRuns(path))}\n`);
}
