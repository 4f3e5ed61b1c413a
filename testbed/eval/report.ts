/**
 * Writes an eval run's outputs into its directory:
 *
 *   results.json   the EvalResult (every run's metrics, scenario, extra data), machine, command
 *   summary.json   the demo's JSON shape: { scenario, runs: [{ zhuge, metrics, k?, trace?, sender }], resultsDir }
 *   runs.csv       one row per run;  summary.csv  one row per point x arm x metric (n, mean, median, min, max, sd)
 *   machine.json   CPU model, cores, kernel, node version, load average
 *   report.md      tables (mean ± sd, [min-max], n; pairs where zhuge was better) and the plots
 *   plots/*.svg    vega-lite, rendered headless (vega's View.toSVG, renderer none)
 *
 * reportMarkdown / plotSpecs are pure (unit-tested from a recorded result set); vega and
 * vega-lite are imported lazily, and a missing one only leaves the plots out (the report says so).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine.js';
import { aggregate, pairwiseWins, pointOf, runsCsv, summaryCsv, type EvalResult, type GroupRow, type Spread } from './stats.js';

export interface RunInfo {
  command: string;
  /** the command line as it was typed (e.g. with --quick), when it differs */
  typed?: string;
  startedAt: string;
  elapsedS: number;
  machine: MachineInfo;
  resultsDir: string;
}

export interface SummaryJson {
  scenario: Record<string, unknown>;
  runs: Array<{ zhuge: boolean; metrics: Record<string, number>; sender: string; k?: number; trace?: string; load?: string; rep: number }>;
  resultsDir: string;
}

export function summaryJson(r: EvalResult, resultsDir: string): SummaryJson {
  return {
    scenario: { experiment: r.experiment, ...r.scenario },
    runs: r.runs.map((x) => ({
      zhuge: x.zhuge,
      metrics: x.metrics,
      sender: x.sender,
      rep: x.rep,
      ...(x.k !== undefined ? { k: x.k } : {}),
      ...(x.trace !== undefined ? { trace: x.trace } : {}),
      ...(x.load !== undefined ? { load: x.load } : {}),
    })),
    resultsDir,
  };
}

/** A vega-lite spec (JSON); typed loosely here, checked by vega-lite when compiled. */
export type VlSpec = Record<string, unknown>;

export interface Plot {
  file: string;
  title: string;
  spec: VlSpec;
}

const fmt = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '–');
const cell = (s: Spread | undefined): string =>
  s === undefined || s.n === 0 ? '–' : s.n === 1 ? fmt(s.mean) : `${fmt(s.mean)} ± ${fmt(s.sd)} [${fmt(s.min)}–${fmt(s.max)}] n=${s.n}`;

/** metrics that describe the point rather than measure it: tables only */
const NO_PLOT = /^(offeredPps|flows|capacityMbps|kernelDrops|matchedShare|zhuge[A-Z]\w*)$/;

/** metrics where higher is better (the rest: lower is better) */
const HIGHER_IS_BETTER = /^(throughput|bitrate|goodput|presentedFps|matched)/;

function slug(s: string): string {
  return s.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}

/** The plots of a result set (pure: specs with inline data). */
export function plotSpecs(r: EvalResult): Plot[] {
  const plots: Plot[] = [];
  const metrics = r.metricLabels.map(([k]) => k);
  const rows = aggregate(r.runs, metrics);
  const byMetric = new Map<string, GroupRow[]>();
  for (const row of rows) {
    if (row.spread.n === 0) continue;
    const arr = byMetric.get(row.metric) ?? [];
    arr.push(row);
    byMetric.set(row.metric, arr);
  }
  const quantX = r.experiment === 'drop';
  for (const [metric, label] of r.metricLabels) {
    const rs = byMetric.get(metric);
    if (rs === undefined || NO_PLOT.test(metric)) continue;
    const data = rs.map((x) => ({
      x: quantX ? Number(x.point.replace(/^k=/, '')) : x.point,
      arm: x.zhuge ? 'with zhuge' : 'without',
      mean: x.spread.mean,
      lo: x.spread.min,
      hi: x.spread.max,
    }));
    const xTitle = r.experiment === 'drop' ? 'k (drop to rate / k)' : r.experiment === 'overhead' ? 'load' : 'trace';
    const x = quantX
      ? { field: 'x', type: 'quantitative', title: xTitle, scale: { type: 'log' }, axis: { values: [...new Set(data.map((d) => d.x))] } }
      : { field: 'x', type: 'nominal', title: xTitle, sort: null, axis: { labelAngle: -30 } };
    const color = { field: 'arm', type: 'nominal', title: null, scale: { domain: ['without', 'with zhuge'], range: ['#d62728', '#1f77b4'] } };
    const mark = quantX ? { type: 'line', point: true } : { type: 'point', size: 60, filled: true };
    plots.push({
      file: `${slug(r.experiment)}-${slug(metric)}.svg`,
      title: label,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: label,
        width: 420,
        height: 240,
        background: 'white',
        data: { values: data },
        layer: [
          { mark, encoding: { x, y: { field: 'mean', type: 'quantitative', title: `${label} (mean; bars min–max)` }, color, ...(quantX ? {} : { xOffset: { field: 'arm' } }) } },
          { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color, ...(quantX ? {} : { xOffset: { field: 'arm' } }) } },
        ],
      },
    });
  }
  const heat = r.extra?.['heat'] as Record<string, { binMs: number; maxMs: number; cells: Array<{ actualMs: number; predictedMs: number; count: number }> }> | undefined;
  for (const [trace, h] of Object.entries(heat ?? {})) {
    plots.push({
      file: `accuracy-heat-${slug(trace)}.svg`,
      title: `predicted vs actual delay, ${trace}`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: `predicted vs actual queueing delay (${trace}; ${h.binMs} ms bins, clamped at ${h.maxMs} ms)`,
        width: 320,
        height: 320,
        background: 'white',
        data: { values: h.cells.map((c) => ({ ...c, actualHi: c.actualMs + h.binMs, predictedHi: c.predictedMs + h.binMs })) },
        layer: [
          {
            mark: 'rect',
            encoding: {
              x: { field: 'actualMs', type: 'quantitative', title: 'actual sojourn (ms)', scale: { domain: [0, h.maxMs] } },
              x2: { field: 'actualHi' },
              y: { field: 'predictedMs', type: 'quantitative', title: 'predicted (ms)', scale: { domain: [0, h.maxMs] } },
              y2: { field: 'predictedHi' },
              color: { field: 'count', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' }, title: 'packets' },
            },
          },
          { data: { values: [{ a: 0, b: 0 }, { a: h.maxMs, b: h.maxMs }] }, mark: { type: 'line', color: 'gray', strokeDash: [4, 4] }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } },
        ],
      },
    });
  }
  const hist = r.extra?.['errorHistogram'] as Record<string, Array<{ lo: number; count: number }>> | undefined;
  const histData = Object.entries(hist ?? {}).flatMap(([trace, bins]) => bins.filter((b) => b.lo >= -50 && b.lo < 50).map((b) => ({ trace, lo: b.lo, count: b.count })));
  if (histData.length > 0) {
    plots.push({
      file: 'accuracy-error-histogram.svg',
      title: 'prediction error distribution',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: 'predicted − actual (1 ms bins, −50..50 ms shown)',
        width: 480,
        height: 220,
        background: 'white',
        data: { values: histData },
        mark: { type: 'line', interpolate: 'step' },
        encoding: {
          x: { field: 'lo', type: 'quantitative', title: 'error (ms)' },
          y: { field: 'count', type: 'quantitative', title: 'packets' },
          color: { field: 'trace', type: 'nominal' },
        },
      },
    });
  }
  return plots;
}

/** The Markdown report (pure). `plotErrors` lists plots that could not be rendered. */
export function reportMarkdown(r: EvalResult, info: RunInfo, plots: readonly Plot[], plotError?: string): string {
  const metrics = r.metricLabels.map(([k]) => k);
  const rows = aggregate(r.runs, metrics);
  const senders = [...new Set(r.runs.map((x) => x.sender))];
  const L: string[] = [];
  L.push(`# zhuge eval: ${r.experiment} (${senders.join(', ')})`);
  L.push('');
  L.push(`Run ${info.startedAt}, ${(info.elapsedS / 60).toFixed(1)} min, ${r.runs.length} runs. Reproduce with:`);
  L.push('');
  L.push('```sh');
  L.push(info.command);
  L.push('```');
  if (info.typed !== undefined && info.typed !== info.command) {
    L.push('');
    L.push(`(run as \`${info.typed}\`)`);
  }
  L.push('');
  L.push('## Setup');
  L.push('');
  for (const [k, v] of Object.entries(r.scenario)) L.push(`- ${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  if (r.notes.length > 0) {
    L.push('');
    L.push('## Notes');
    L.push('');
    for (const n of r.notes) L.push(`- ${n}`);
  }
  L.push('');
  L.push('## Results');
  L.push('');
  L.push('Cells: mean ± sample sd [min–max] n=runs. "with better" counts the (without, with) pairs of one point and');
  L.push('repetition in which the run with zhuge had the better value (lower, or higher for throughput, bitrate, fps).');
  const hasArms = r.runs.some((x) => x.zhuge) && r.runs.some((x) => !x.zhuge);
  for (const [metric, label] of r.metricLabels) {
    const rs = rows.filter((x) => x.metric === metric);
    if (rs.every((x) => x.spread.n === 0)) continue;
    L.push('');
    L.push(`### ${label}`);
    L.push('');
    const points = [...new Set(rs.map((x) => `${x.point}\u0000${x.sender}`))];
    if (hasArms) {
      L.push('| point | without | with zhuge | with better |');
      L.push('|---|---|---|---|');
      for (const p of points) {
        const [point, sender] = p.split('\u0000') as [string, string];
        const w = rs.find((x) => x.point === point && x.sender === sender && !x.zhuge)?.spread;
        const z = rs.find((x) => x.point === point && x.sender === sender && x.zhuge)?.spread;
        const pr = pairwiseWins(
          r.runs.filter((x) => pointOf(x) === point && x.sender === sender),
          metric,
          !HIGHER_IS_BETTER.test(metric),
        );
        L.push(`| ${point} | ${cell(w)} | ${cell(z)} | ${pr.pairs > 0 ? `${pr.better}/${pr.pairs}` : '–'} |`);
      }
    } else {
      L.push('| point | value |');
      L.push('|---|---|');
      for (const p of points) {
        const [point, sender] = p.split('\u0000') as [string, string];
        L.push(`| ${point} | ${cell(rs.find((x) => x.point === point && x.sender === sender)?.spread)} |`);
      }
    }
  }
  L.push('');
  L.push('## Plots');
  L.push('');
  if (plotError !== undefined) L.push(`Plots not rendered: ${plotError}`);
  else for (const p of plots) L.push(`![${p.title}](plots/${p.file})`);
  L.push('');
  L.push('## Machine');
  L.push('');
  const m = info.machine;
  L.push(`- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memTotalMiB} MiB`);
  L.push(`- kernel: ${m.kernel}; node ${m.node}`);
  if (m.chromium !== undefined) L.push(`- browser: ${m.chromium}`);
  L.push(`- load average at the start: ${m.loadAverage.join(', ')} (other work on the machine adds noise)`);
  L.push('');
  L.push('## Files');
  L.push('');
  L.push('- `results.json` (everything), `summary.json` (`{ scenario, runs: [{ zhuge, metrics, ... }], resultsDir }`)');
  L.push('- `runs.csv` (one row per run), `summary.csv` (one row per point, arm and metric), `machine.json`, `plots/*.svg`');
  L.push('');
  return L.join('\n');
}

interface VegaMods {
  vega: typeof import('vega');
  vl: typeof import('vega-lite');
}

async function loadVega(): Promise<VegaMods> {
  try {
    const vega = await import('vega');
    const vl = await import('vega-lite');
    return { vega, vl };
  } catch (e) {
    throw new Error(`vega / vega-lite are not installed (they are devDependencies: npm install --include=dev): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Renders one vega-lite spec to SVG (headless). */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const { vega, vl } = await loadVega();
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Writes every output file; returns the paths written. */
export async function writeOutputs(dir: string, r: EvalResult, info: RunInfo): Promise<string[]> {
  mkdirSync(join(dir, 'plots'), { recursive: true });
  const files: string[] = [];
  const put = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    files.push(join(dir, name));
  };
  put('results.json', JSON.stringify({ ...r, command: info.command, startedAt: info.startedAt, elapsedS: info.elapsedS, machine: info.machine }, null, 1));
  put('summary.json', JSON.stringify(summaryJson(r, dir), null, 2));
  put('runs.csv', runsCsv(r.runs));
  put('summary.csv', summaryCsv(aggregate(r.runs, r.metricLabels.map(([k]) => k))));
  put('machine.json', JSON.stringify(info.machine, null, 2));
  const plots = plotSpecs(r);
  let plotError: string | undefined;
  try {
    for (const p of plots) put(join('plots', p.file), await renderSvg(p.spec));
  } catch (e) {
    plotError = e instanceof Error ? e.message : String(e);
  }
  put('report.md', reportMarkdown(r, info, plots, plotError));
  return files;
}
