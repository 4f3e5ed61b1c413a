/**
 * The eval report from a small recorded result set (the first `zhuge eval drop --quick` run:
 * gcc, 3 -> 0.3 Mbit/s, two pairs; trimmed to four metrics) and a recorded overhead run: the
 * Markdown tables, the demo-shaped summary JSON, the CSVs and the SVG plots (vega, headless).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { plotSpecs, renderSvg, reportMarkdown, summaryJson, writeOutputs, type RunInfo } from '../../testbed/eval/report.js';
import type { EvalResult } from '../../testbed/eval/stats.js';

const DROP: EvalResult = {
  experiment: 'drop',
  scenario: { sender: 'gcc', rateMbps: 3, ks: [10], durationS: 30, dropAtS: 15, repeat: 2, baseRttMs: 50, bufferMs: 100 },
  runs: [
    { zhuge: false, sender: 'gcc', k: 10, rep: 0, metrics: { frameDelayP99Ms: 4343, frameDelayAbove400msSeconds: 8.07, fpsBelow10Seconds: 6.59, bitrateMbps: 0.25 } },
    { zhuge: true, sender: 'gcc', k: 10, rep: 0, metrics: { frameDelayP99Ms: 1587, frameDelayAbove400msSeconds: 3.98, fpsBelow10Seconds: 4.53, bitrateMbps: 0.27 } },
    { zhuge: false, sender: 'gcc', k: 10, rep: 1, metrics: { frameDelayP99Ms: 3003, frameDelayAbove400msSeconds: 5.41, fpsBelow10Seconds: 4.19, bitrateMbps: 0.24 } },
    { zhuge: true, sender: 'gcc', k: 10, rep: 1, metrics: { frameDelayP99Ms: 2100, frameDelayAbove400msSeconds: 6.2, fpsBelow10Seconds: Number.NaN, bitrateMbps: 0.22 } },
  ],
  metricLabels: [
    ['frameDelayP99Ms', 'frame delay p99 after the drop (ms)'],
    ['frameDelayAbove400msSeconds', 'time with frame delay > 400 ms (s)'],
    ['fpsBelow10Seconds', 'time below 10 fps (s)'],
    ['bitrateMbps', 'bitrate after the drop (Mbit/s)'],
  ],
  notes: ['a note'],
};

const OVERHEAD: EvalResult = {
  experiment: 'overhead',
  scenario: { pps: [1000, 20000], flows: [4], durationS: 3, repeat: 1 },
  runs: [
    { zhuge: true, sender: 'idle', load: 'idle', rep: 0, metrics: { cpuPercent: 1.666, rssMiB: 100.699, offeredPps: 0 } },
    { zhuge: true, sender: 'udp', load: 'udp 1000 pps', rep: 0, metrics: { cpuPercent: 10.511, rssMiB: 105.484, offeredPps: 1000 } },
    { zhuge: true, sender: 'udp', load: 'udp 20000 pps', rep: 0, metrics: { cpuPercent: 19.78, rssMiB: 107.242, offeredPps: 20000 } },
  ],
  metricLabels: [
    ['cpuPercent', 'daemon CPU (% of one core)'],
    ['rssMiB', 'daemon RSS at the end (MiB)'],
    ['offeredPps', 'offered packet rate (packets/s)'],
  ],
  notes: [],
};

const INFO: RunInfo = {
  command: 'zhuge eval drop --sender gcc --rate-mbit 3 --k 10 --duration 30 --repeat 2',
  startedAt: '2026-11-21T19:07:35.582Z',
  elapsedS: 170,
  machine: { hostname: 'h', cpuModel: 'Test CPU', cores: 2, kernel: 'Linux version 6.1', node: 'v20.0.0', loadAverage: [1, 2, 3], memTotalMiB: 4096 },
  resultsDir: '/tmp/x',
  typed: 'zhuge eval drop --quick',
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('reportMarkdown', () => {
  const md = reportMarkdown(DROP, INFO, plotSpecs(DROP));
  it.each([
    ['title', '# zhuge eval: drop (gcc)'],
    ['command to reproduce', INFO.command],
    ['the command as typed', '(run as `zhuge eval drop --quick`)'],
    ['setup list', '- ks: 10'],
    ['notes', '- a note'],
    // p99: mean 3673 ± sd of (4343, 3003) = 947.52, without; with 1843.5; zhuge better in 2/2
    ['p99 row with spread and pairs', '| k=10 | 3673 ± 947.52 [3003–4343] n=2 | 1843.5 ± 362.75 [1587–2100] n=2 | 2/2 |'],
    // > 400 ms: better in 1 of 2 pairs
    ['400 ms row', '| 1/2 |'],
    // a NaN run is left out of the spread (n=1) and of the pairs; time below 10 fps: lower is better
    ['NaN handling', '| k=10 | 5.39 ± 1.7 [4.19–6.59] n=2 | 4.53 | 1/1 |'],
    // bitrate: higher is better (0.27 > 0.25 yes, 0.22 > 0.24 no)
    ['higher is better for bitrate', '| k=10 | 0.25 ± 0.01 [0.24–0.25] n=2 | 0.25 ± 0.04 [0.22–0.27] n=2 | 1/2 |'],
    ['plot links', '![frame delay p99 after the drop (ms)](plots/drop-framedelayp99ms.svg)'],
    ['machine', '- CPU: Test CPU, 2 cores'],
    ['load', '- load average at the start: 1, 2, 3'],
  ])('%s', (_name, want) => {
    expect(md).toContain(want);
  });
  it('single-arm experiments get one value column', () => {
    const o = reportMarkdown(OVERHEAD, INFO, []);
    expect(o).toContain('| udp 20000 pps | 19.78 |');
    expect(o).not.toContain('with better |');
  });
  it('says so when plots could not be rendered', () => {
    expect(reportMarkdown(DROP, INFO, [], 'vega missing')).toContain('Plots not rendered: vega missing');
  });
});

describe('plots and outputs', () => {
  it('plot specs: one per metric with data, k on a log axis for drop; descriptive metrics not plotted', () => {
    const d = plotSpecs(DROP);
    expect(d.map((p) => p.file)).toEqual(['drop-framedelayp99ms.svg', 'drop-framedelayabove400msseconds.svg', 'drop-fpsbelow10seconds.svg', 'drop-bitratembps.svg']);
    const o = plotSpecs(OVERHEAD);
    expect(o.map((p) => p.file)).toEqual(['overhead-cpupercent.svg', 'overhead-rssmib.svg']);
  });
  it('renders an SVG headless', async () => {
    const svg = await renderSvg((plotSpecs(DROP)[0] as { spec: Record<string, unknown> }).spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('frame delay p99');
  }, 30_000);
  it('accuracy heat map and error histogram specs', () => {
    const acc: EvalResult = {
      experiment: 'accuracy',
      scenario: {},
      runs: [{ zhuge: false, sender: 'bbr', trace: 't', rep: 0, metrics: { absErrorP50Ms: 1 } }],
      metricLabels: [['absErrorP50Ms', '|error| p50 (ms)']],
      notes: [],
      extra: { heat: { t: { binMs: 5, maxMs: 100, cells: [{ actualMs: 0, predictedMs: 5, count: 3 }] } }, errorHistogram: { t: [{ lo: -1, count: 2 }] } },
    };
    expect(plotSpecs(acc).map((p) => p.file)).toEqual(['accuracy-abserrorp50ms.svg', 'accuracy-heat-t.svg', 'accuracy-error-histogram.svg']);
  });
  it('writes report.md, results.json, summary.json (demo shape), CSVs, machine.json and SVGs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-eval-report-'));
    dirs.push(dir);
    await writeOutputs(dir, DROP, { ...INFO, resultsDir: dir });
    for (const f of ['report.md', 'results.json', 'summary.json', 'runs.csv', 'summary.csv', 'machine.json', 'plots/drop-framedelayp99ms.svg']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as ReturnType<typeof summaryJson>;
    expect(s.resultsDir).toBe(dir);
    expect(s.scenario['experiment']).toBe('drop');
    expect(s.runs.map((r) => [r.zhuge, r.k, r.sender])).toEqual([
      [false, 10, 'gcc'],
      [true, 10, 'gcc'],
      [false, 10, 'gcc'],
      [true, 10, 'gcc'],
    ]);
    // NaN is null in JSON
    expect(s.runs[3]?.metrics['fpsBelow10Seconds']).toBeNull();
    expect(readFileSync(join(dir, 'runs.csv'), 'utf8').split('\n')[0]).toBe('rep,sender,k,trace,load,zhuge,bitrateMbps,fpsBelow10Seconds,frameDelayAbove400msSeconds,frameDelayP99Ms');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).not.toContain('Plots not rendered');
  }, 60_000);
});
