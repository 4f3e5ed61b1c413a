import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  aggregate,
  frameSummary,
  heatBins,
  histogram,
  isMahimahiTrace,
  mahimahiToSchedule,
  meanRateBps,
  pairwiseWins,
  quantile,
  rttSummary,
  runsCsv,
  spread,
  summaryCsv,
  toCsv,
  type EvalRun,
} from '../../testbed/eval/stats.js';
import { parseProcStatTicks, parseStatusKb } from '../../testbed/eval/overhead.js';
import { OUTAGE_RATE_BPS, parseTrace } from '../../testbed/trace.js';

const run = (zhuge: boolean, k: number, rep: number, metrics: Record<string, number>): EvalRun => ({ zhuge, sender: 'gcc', k, rep, metrics });

describe('spread', () => {
  it.each([
    { xs: [], want: { n: 0 } },
    { xs: [5], want: { n: 1, mean: 5, median: 5, min: 5, max: 5, sd: 0 } },
    { xs: [1, 2, 3, 4], want: { n: 4, mean: 2.5, median: 2.5, min: 1, max: 4, sd: 1.291 } },
    { xs: [3, Number.NaN, 1, 2], want: { n: 3, mean: 2, median: 2, min: 1, max: 3, sd: 1 } },
  ])('$xs', ({ xs, want }) => {
    expect(spread(xs)).toMatchObject(want);
  });
  it('nearest-rank quantile', () => {
    expect(quantile([10, 20, 30, 40], 0.5)).toBe(20);
    expect(quantile([10, 20, 30, 40], 0.99)).toBe(40);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('aggregate and pairwise wins', () => {
  const runs: EvalRun[] = [
    run(false, 10, 0, { p99: 3000, fps: 9 }),
    run(true, 10, 0, { p99: 1000, fps: 15 }),
    run(false, 20, 0, { p99: 4000, fps: 8 }),
    run(true, 20, 0, { p99: 5000, fps: Number.NaN }),
    run(false, 10, 1, { p99: 5000, fps: 11 }),
    run(true, 10, 1, { p99: 2000, fps: 10 }),
  ];
  it('groups by point and arm, first-seen point order, without before with', () => {
    const rows = aggregate(runs, ['p99']);
    expect(rows.map((r) => `${r.point}/${r.zhuge}`)).toEqual(['k=10/false', 'k=10/true', 'k=20/false', 'k=20/true']);
    expect(rows[0]?.spread).toMatchObject({ n: 2, mean: 4000, min: 3000, max: 5000 });
    expect(rows[1]?.spread).toMatchObject({ n: 2, mean: 1500 });
  });
  it.each([
    { metric: 'p99', lower: true, want: { better: 2, pairs: 3 } },
    { metric: 'fps', lower: false, want: { better: 1, pairs: 2 } },
    { metric: 'missing', lower: true, want: { better: 0, pairs: 0 } },
  ])('$metric', ({ metric, lower, want }) => {
    expect(pairwiseWins(runs, metric, lower)).toEqual(want);
  });
});

describe('CSV', () => {
  it.each([
    { rows: [[1, 'a']], want: 'x,y\n1,a\n' },
    { rows: [[Number.NaN, undefined]], want: 'x,y\n,\n' },
    { rows: [['a,b', 'say "hi"']], want: 'x,y\n"a,b","say ""hi"""\n' },
    { rows: [[true, 'line\nbreak']], want: 'x,y\ntrue,"line\nbreak"\n' },
  ])('%#', ({ rows, want }) => {
    expect(toCsv(['x', 'y'], rows)).toBe(want);
  });
  it('runs: fixed columns then every metric key, sorted; missing cells empty', () => {
    const csv = runsCsv([run(false, 10, 0, { b: 1, a: 2 }), { zhuge: true, sender: 'bbr', trace: 't1', rep: 1, metrics: { c: 3 } }]);
    expect(csv).toBe('rep,sender,k,trace,load,zhuge,a,b,c\n0,gcc,10,,,false,2,1,\n1,bbr,,t1,,true,,,3\n');
  });
  it('summary: one row per point, arm and metric', () => {
    const csv = summaryCsv(aggregate([run(false, 2, 0, { m: 1 }), run(true, 2, 0, { m: 3 })], ['m']));
    expect(csv.trim().split('\n')).toEqual(['point,sender,zhuge,metric,n,mean,median,min,max,sd', 'k=2,gcc,false,m,1,1,1,1,1,0', 'k=2,gcc,true,m,1,3,3,3,3,0']);
  });
});

describe('Mahimahi traces', () => {
  it.each([
    { text: '0\n5\n10\n', want: true },
    { text: '# c\n\n12\n', want: true },
    { text: '0.2 30\n', want: false },
    { text: '', want: false },
    { text: '1\n2 3\n', want: false },
  ])('isMahimahiTrace(%j)', ({ text, want }) => {
    expect(isMahimahiTrace(text)).toBe(want);
  });
  it.each([
    // 10 deliveries in the first 100 ms = 10 x 12000 bit / 0.1 s = 1.2 Mbit/s; none in the second (outage); 1 in the third
    { text: '0\n10\n20\n30\n40\n50\n60\n70\n80\n99\n250\n', bin: 100, steps: [[0, 1_200_000], [100, OUTAGE_RATE_BPS], [200, 120_000]], dur: 300 },
    // equal neighbouring bins merge; a timestamp at the end of the period counts in the last bin
    { text: '0\n50\n100\n120\n', bin: 50, steps: [[0, 240_000], [100, 480_000]], dur: 150 },
    { text: '5\n', bin: 1000, steps: [[0, 12_000]], dur: 1000 },
  ])('mahimahiToSchedule %#', ({ text, bin, steps, dur }) => {
    const s = mahimahiToSchedule(text, bin);
    expect(s.steps.map((x) => [x.atMs, x.rateBps])).toEqual(steps);
    expect(s.durationMs).toBe(dur);
  });
  it.each(['', 'x\n', '10\n5\n', '1.5\n'])('rejects %j', (t) => {
    expect(() => mahimahiToSchedule(t)).toThrow();
  });
  it('a constant 12 Mbit/s trace (one packet per ms) converts to 12 Mbit/s', () => {
    const text = Array.from({ length: 2000 }, (_, i) => String(i + 1)).join('\n');
    const s = mahimahiToSchedule(text, 100);
    expect(s.durationMs).toBe(2000);
    expect(meanRateBps(s)).toBeCloseTo(12e6, -3);
  });
  it('mean rate of a shared trace matches its README (office-wifi_0: 27.5 Mbit/s)', () => {
    const p = fileURLToPath(new URL('../../../shared/traces/zhuge-paper/office-wifi_0.pitree-trace', import.meta.url));
    expect(meanRateBps(parseTrace(readFileSync(p, 'utf8'))) / 1e6).toBeCloseTo(27.5, 0);
  });
});

describe('accuracy bins', () => {
  it('heat map cells: square bins, clamped at max, zero cells omitted', () => {
    const cells = heatBins(
      [
        [1, 2],
        [3, 4],
        [12, 1],
        [500, 700],
        [Number.NaN, 1],
      ],
      5,
      20,
    );
    expect(cells).toEqual([
      { actualMs: 0, predictedMs: 0, count: 2 },
      { actualMs: 10, predictedMs: 0, count: 1 },
      { actualMs: 15, predictedMs: 15, count: 1 },
    ]);
  });
  it('histogram of signed errors', () => {
    expect(histogram([-0.5, 0.2, 0.7, 1.1, Number.NaN], 1)).toEqual([
      { lo: -1, count: 1 },
      { lo: 0, count: 2 },
      { lo: 1, count: 1 },
    ]);
  });
});

describe('trace summaries', () => {
  it('RTT: lost probes count as 1000 ms', () => {
    const m = rttSummary([50, 60, 250], 1, 10);
    expect(m).toMatchObject({ rttP50Ms: 60, rttP99Ms: 1000, rttAbove200msSeconds: 0.02, rttAbove200msShare: 0.5, probesLost: 1 });
  });
  it('frames', () => {
    expect(frameSummary([100, 200, 500, 600], 2)).toMatchObject({ frameDelayP50Ms: 200, framesAbove400msShare: 0.5, presentedFps: 2 });
  });
});

describe('/proc parsing (overhead)', () => {
  it.each([
    { stat: '123 (node) S 1 123 123 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0', want: 325 },
    { stat: '123 (my (odd) name) R 1 123 123 0 -1 0 0 0 0 0 7 3 0 0', want: 10 },
  ])('stat ticks %#', ({ stat, want }) => {
    expect(parseProcStatTicks(stat)).toBe(want);
  });
  it('rejects an unreadable stat line', () => {
    expect(() => parseProcStatTicks('garbage')).toThrow();
  });
  it('status kB fields', () => {
    const s = 'Name:\tnode\nVmHWM:\t  120000 kB\nVmRSS:\t  100352 kB\n';
    expect(parseStatusKb(s, 'VmRSS')).toBe(100352);
    expect(parseStatusKb(s, 'VmHWM')).toBe(120000);
    expect(parseStatusKb(s, 'VmSwap')).toBeNaN();
  });
});
