/**
 * Pure helpers of the evaluation harness (`zhuge eval`): the result shape every experiment
 * shares, spread statistics over repeated runs, grouping (per k / trace, without vs with zhuge),
 * CSV, the Mahimahi packet-delivery trace conversion and the accuracy heat-map bins.
 * No clock, no file, no process here (unit-tested in test/testbed/eval-stats.test.ts).
 */
import { OUTAGE_RATE_BPS, type Schedule, type Step } from '../trace.js';
import { quantile, r3 } from '../stats.js';

export type Experiment = 'drop' | 'trace' | 'accuracy' | 'overhead';

/** One run (one trial) of an experiment: the demo's `{ zhuge, metrics }` plus what varied. */
export interface EvalRun {
  zhuge: boolean;
  sender: string;
  /** drop factor (drop experiment) */
  k?: number;
  /** trace file name (trace / accuracy experiments) */
  trace?: string;
  /** repetition index, 0-based */
  rep: number;
  /** overhead experiment: what was loaded (e.g. `udp 5000 pps`, `tcp 16 flows`) */
  load?: string;
  /** numbers only (units in the names); NaN = not reached / not measurable (null in JSON) */
  metrics: Record<string, number>;
}

export interface EvalResult {
  experiment: Experiment;
  /** the exact parameters of the run (JSON-able) */
  scenario: Record<string, unknown>;
  runs: EvalRun[];
  /** which metric keys the report shows, in order, with a label */
  metricLabels: Array<[string, string]>;
  /** plain-text remarks the report prints (e.g. why the RTC steady rate is not 30 Mbit/s) */
  notes: string[];
  /** per-experiment extra data for the report (accuracy heat maps, ...) */
  extra?: Record<string, unknown>;
}

export interface Spread {
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
  /** sample standard deviation (0 for n = 1) */
  sd: number;
}


/** Spread of the finite values (NaN values are counted out: n says how many remained). */
export function spread(values: readonly number[]): Spread {
  const xs = values.filter((x) => Number.isFinite(x));
  if (xs.length === 0) return { n: 0, mean: Number.NaN, median: Number.NaN, min: Number.NaN, max: Number.NaN, sd: Number.NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { n: xs.length, mean: r3(mean), median: r3(median), min: r3(s[0] as number), max: r3(s[s.length - 1] as number), sd: r3(sd) };
}


/** The point a run belongs to: k for drop, trace for trace/accuracy, load for overhead. */
export function pointOf(r: EvalRun): string {
  if (r.k !== undefined) return `k=${r.k}`;
  if (r.trace !== undefined) return r.trace;
  if (r.load !== undefined) return r.load;
  return 'all';
}

export interface GroupRow {
  point: string;
  sender: string;
  zhuge: boolean;
  metric: string;
  spread: Spread;
}

/** One row per (point, sender, arm, metric), points in first-seen order, without before with. */
export function aggregate(runs: readonly EvalRun[], metrics: readonly string[]): GroupRow[] {
  const groups = new Map<string, { point: string; sender: string; zhuge: boolean; runs: EvalRun[] }>();
  for (const r of runs) {
    const key = `${pointOf(r)}\u0000${r.sender}\u0000${String(r.zhuge)}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { point: pointOf(r), sender: r.sender, zhuge: r.zhuge, runs: [] }));
    g.runs.push(r);
  }
  // points in first-seen order; within one, the run without zhuge first
  const byPoint = new Map<string, Array<{ point: string; sender: string; zhuge: boolean; runs: EvalRun[] }>>();
  for (const g of groups.values()) {
    const k = `${g.point}\u0000${g.sender}`;
    const arr = byPoint.get(k) ?? [];
    arr.push(g);
    byPoint.set(k, arr);
  }
  const rows: GroupRow[] = [];
  for (const gs of byPoint.values()) {
    gs.sort((a, b) => Number(a.zhuge) - Number(b.zhuge));
    for (const g of gs) {
      for (const m of metrics) {
        rows.push({ point: g.point, sender: g.sender, zhuge: g.zhuge, metric: m, spread: spread(g.runs.map((r) => r.metrics[m] ?? Number.NaN)) });
      }
    }
  }
  return rows;
}

/**
 * Pairs of (without, with) runs of one point and repetition: how many pairs had the metric lower
 * with zhuge. `lowerIsBetter` false flips it. Pairs with a NaN on either side are not counted.
 */
export function pairwiseWins(runs: readonly EvalRun[], metric: string, lowerIsBetter = true): { better: number; pairs: number } {
  const without = new Map<string, number>();
  const withZ = new Map<string, number>();
  for (const r of runs) {
    const key = `${pointOf(r)}\u0000${r.sender}\u0000${r.rep}`;
    (r.zhuge ? withZ : without).set(key, r.metrics[metric] ?? Number.NaN);
  }
  let better = 0;
  let pairs = 0;
  for (const [key, a] of without) {
    const b = withZ.get(key);
    if (b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    pairs++;
    if (lowerIsBetter ? b < a : b > a) better++;
  }
  return { better, pairs };
}

// ---- CSV ----------------------------------------------------------------------------------

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (CRLF-free: '\n' line ends), header first; empty cell = missing / NaN. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** The raw runs as CSV: fixed columns then every metric key seen (sorted). */
export function runsCsv(runs: readonly EvalRun[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const header = ['rep', 'sender', 'k', 'trace', 'load', 'zhuge', ...keys];
  return toCsv(
    header,
    runs.map((r) => [r.rep, r.sender, r.k, r.trace, r.load, r.zhuge, ...keys.map((k) => r.metrics[k])]),
  );
}

/** The aggregate as CSV (one row per point, sender, arm and metric). */
export function summaryCsv(rows: readonly GroupRow[]): string {
  return toCsv(
    ['point', 'sender', 'zhuge', 'metric', 'n', 'mean', 'median', 'min', 'max', 'sd'],
    rows.map((r) => [r.point, r.sender, r.zhuge, r.metric, r.spread.n, r.spread.mean, r.spread.median, r.spread.min, r.spread.max, r.spread.sd]),
  );
}

// ---- Mahimahi traces ------------------------------------------------------------------------

/** True when every non-empty, non-comment line is one non-negative integer (a Mahimahi trace). */
export function isMahimahiTrace(text: string): boolean {
  let any = false;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    if (!/^\d+$/.test(l)) return false;
    any = true;
  }
  return any;
}

/**
 * A Mahimahi packet-delivery trace (one ms timestamp per line = one delivery opportunity of an
 * MTU, 1500 bytes) as a rate schedule: deliveries counted per `binMs` bin, rate = count x 1500 x
 * 8 / bin. Empty bins are outages (OUTAGE_RATE_BPS, as in parseTrace); consecutive equal rates
 * merge into one step. The schedule lasts the whole bins covering the last timestamp (its period).
 */
export function mahimahiToSchedule(text: string, binMs = 100, mtuBytes = 1500): Schedule {
  if (!(binMs > 0)) throw new RangeError('binMs must be > 0');
  const ts: number[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    if (!/^\d+$/.test(l)) throw new Error(`mahimahi trace line ${lineNo}: expected an integer ms timestamp, got ${JSON.stringify(raw)}`);
    const t = Number(l);
    const prev = ts[ts.length - 1];
    if (prev !== undefined && t < prev) throw new Error(`mahimahi trace line ${lineNo}: time goes backwards`);
    ts.push(t);
  }
  const last = ts[ts.length - 1];
  if (last === undefined) throw new Error('empty mahimahi trace');
  // the trace's period is its last timestamp (Mahimahi loops it): whole bins covering it, a
  // timestamp exactly at a bin's end counted in that bin
  const nBins = Math.max(1, Math.ceil(last / binMs));
  const counts = new Array<number>(nBins).fill(0);
  for (const t of ts) {
    const i = Math.min(nBins - 1, Math.floor(t / binMs));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const steps: Step[] = [];
  counts.forEach((c, i) => {
    const rateBps = Math.max(OUTAGE_RATE_BPS, Math.round((c * mtuBytes * 8 * 1000) / binMs));
    if (steps[steps.length - 1]?.rateBps !== rateBps) steps.push({ atMs: i * binMs, rateBps });
  });
  return { steps, durationMs: nBins * binMs };
}

/** Mean rate of a schedule over its duration, bit/s. */
export function meanRateBps(s: Schedule): number {
  let bits = 0;
  s.steps.forEach((st, i) => {
    const end = s.steps[i + 1]?.atMs ?? s.durationMs;
    bits += (st.rateBps * Math.max(0, end - st.atMs)) / 1000;
  });
  return s.durationMs > 0 ? bits / (s.durationMs / 1000) : Number.NaN;
}

// ---- accuracy heat map ----------------------------------------------------------------------

export interface HeatCell {
  actualMs: number;
  predictedMs: number;
  count: number;
}

/**
 * 2-D histogram of (actual, predicted) delay pairs: square bins of `binMs`, values above `maxMs`
 * clamped into the last bin (so nothing is lost from the picture). Cells with count 0 omitted.
 */
export function heatBins(pairs: ReadonlyArray<readonly [number, number]>, binMs: number, maxMs: number): HeatCell[] {
  const n = Math.max(1, Math.ceil(maxMs / binMs));
  const cells = new Map<number, number>();
  const idx = (v: number): number => Math.min(n - 1, Math.max(0, Math.floor(v / binMs)));
  for (const [a, p] of pairs) {
    if (!Number.isFinite(a) || !Number.isFinite(p)) continue;
    const key = idx(a) * n + idx(p);
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  return [...cells.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([key, count]) => ({ actualMs: Math.floor(key / n) * binMs, predictedMs: (key % n) * binMs, count }));
}

/** Histogram of values in `binMs` bins (for error distributions): [{ lo, count }]. */
export function histogram(values: readonly number[], binMs: number): Array<{ lo: number; count: number }> {
  const m = new Map<number, number>();
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const lo = Math.floor(v / binMs) * binMs;
    m.set(lo, (m.get(lo) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([lo, count]) => ({ lo: r3(lo), count }));
}

// ---- frame / RTT summaries (trace experiment) -----------------------------------------------

/** RTT percentiles and time above a threshold from probe samples (lost probes count as lostMs). */
export function rttSummary(rttsMs: readonly number[], lost: number, intervalMs: number, lostMs = 1000): Record<string, number> {
  const all = rttsMs.concat(new Array<number>(Math.max(0, lost)).fill(lostMs));
  return {
    rttP50Ms: r3(quantile(all, 0.5)),
    rttP95Ms: r3(quantile(all, 0.95)),
    rttP99Ms: r3(quantile(all, 0.99)),
    rttAbove200msSeconds: r3((all.filter((r) => r > 200).length * intervalMs) / 1000),
    rttAbove200msShare: all.length > 0 ? r3(all.filter((r) => r > 200).length / all.length) : Number.NaN,
    probesLost: lost,
  };
}

/** Frame delay distribution over presented frames. */
export function frameSummary(delaysMs: readonly number[], windowS: number): Record<string, number> {
  return {
    frameDelayP50Ms: r3(quantile(delaysMs, 0.5)),
    frameDelayP95Ms: r3(quantile(delaysMs, 0.95)),
    frameDelayP99Ms: r3(quantile(delaysMs, 0.99)),
    framesAbove400msShare: delaysMs.length > 0 ? r3(delaysMs.filter((d) => d > 400).length / delaysMs.length) : Number.NaN,
    presentedFps: windowS > 0 ? r3(delaysMs.length / windowS) : Number.NaN,
  };
}

export { quantile, r3 };
