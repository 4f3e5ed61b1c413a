import { describe, expect, it } from 'vitest';
import {
  BULK_TAIL_MS,
  MIXED_SCENARIO,
  bulkCports,
  intervalsMbps,
  jainIndex,
  onWindow,
  quantile,
  sideBySide,
  summarizeFairness,
  summarizeMixed,
  type MixedRaw,
} from '../../testbed/mixed-experiment.js';
import type { IperfInterval, IperfResult, RttSample } from '../../testbed/traffic.js';

/** iperf intervals of 100 ms from startMs, one rate (bit/s) each */
function ivs(startMs: number, rates: readonly number[]): IperfInterval[] {
  return rates.map((bps, i) => ({ startMs: startMs + i * 100, endMs: startMs + (i + 1) * 100, bps }));
}

function iperf(startMonoMs: number, rates: readonly number[], retransmits = 0): IperfResult {
  const receiver = ivs(startMonoMs, rates);
  const sender = ivs(startMonoMs, rates).map((i, k) => (k === 0 ? { ...i, retransmits } : i));
  const bytes = rates.reduce((a, r) => a + r / 80, 0);
  return { startMonoMs, sender, receiver, sentBytes: bytes, receivedBytes: bytes, receiverBps: 0 };
}

describe('jainIndex', () => {
  it.each([
    { xs: [5, 5], want: 1 },
    { xs: [1, 1, 1, 1], want: 1 },
    { xs: [10, 0], want: 0.5 },
    { xs: [3, 0, 0], want: 1 / 3 },
    { xs: [1, 2], want: 9 / 10 },
    { xs: [9, 1], want: 100 / 164 },
    { xs: [7], want: 1 },
  ])('$xs -> $want', ({ xs, want }) => {
    expect(jainIndex(xs)).toBeCloseTo(want, 12);
  });
  it.each([[[]], [[0, 0]], [[1, -1]], [[1, Number.NaN]], [[Infinity, 1]]])('%j is undefined (NaN)', (xs) => {
    expect(jainIndex(xs)).toBeNaN();
  });
  it('is scale-free and lies in [1/n, 1]', () => {
    const xs = [3.2, 7.9, 0.4, 5];
    expect(jainIndex(xs.map((x) => x * 1000))).toBeCloseTo(jainIndex(xs), 12);
    expect(jainIndex(xs)).toBeGreaterThanOrEqual(1 / xs.length);
    expect(jainIndex(xs)).toBeLessThanOrEqual(1);
  });
});

describe('quantile (nearest rank)', () => {
  it.each([
    { xs: [], q: 0.5, want: Number.NaN },
    { xs: [4], q: 0.99, want: 4 },
    { xs: [5, 1, 3, 2, 4], q: 0.5, want: 3 },
    { xs: [5, 1, 3, 2, 4], q: 0.95, want: 5 },
    { xs: Array.from({ length: 100 }, (_, i) => i + 1), q: 0.95, want: 95 },
    { xs: Array.from({ length: 100 }, (_, i) => i + 1), q: 0.99, want: 99 },
  ])('$q of $xs.length samples', ({ xs, q, want }) => {
    if (Number.isNaN(want)) expect(quantile(xs, q)).toBeNaN();
    else expect(quantile(xs, q)).toBe(want);
  });
});

describe('intervalsMbps and onWindow', () => {
  const v = ivs(1000, [10e6, 20e6, 30e6, 40e6]);
  it.each([
    { from: 1000, to: 1400, want: 25 },
    { from: 1100, to: 1300, want: 25 },
    { from: 1050, to: 1400, want: 30 }, // the first interval starts before `from`: left out
    { from: 1000, to: 1350, want: 20 },
    { from: 2000, to: 3000, want: Number.NaN },
  ])('[$from, $to] -> $want Mbit/s', ({ from, to, want }) => {
    const got = intervalsMbps(v, from, to);
    if (Number.isNaN(want)) expect(got).toBeNaN();
    else expect(got).toBeCloseTo(want, 9);
  });
  it('weights intervals by their length', () => {
    const mixed: IperfInterval[] = [
      { startMs: 0, endMs: 300, bps: 10e6 },
      { startMs: 300, endMs: 400, bps: 30e6 },
    ];
    expect(intervalsMbps(mixed, 0, 400)).toBeCloseTo(15, 9);
  });
  it('an iperf run is on from its spawn to its last receiver interval', () => {
    expect(onWindow(iperf(500, [1e6, 1e6, 1e6]))).toEqual([500, 800]);
    expect(onWindow({ ...iperf(500, []), receiver: [], sender: [] })).toEqual([500, 500]);
  });
});

describe('summarizeMixed', () => {
  // 10 s trial from t=0; warm-up 1 s; bulk on [2000, 3000) and [6000, 7000)
  const acks: RttSample[] = [];
  for (let t = 0; t < 10_000; t += 10) {
    const on = (t >= 2000 && t < 3000 + BULK_TAIL_MS) || (t >= 6000 && t < 7000 + BULK_TAIL_MS);
    acks.push({ tMs: t, rttMs: t < 1000 ? 500 : on ? 140 : 42 });
  }
  const raw: MixedRaw = {
    startMonoMs: 0,
    endMonoMs: 10_000,
    treated: iperf(0, new Array<number>(100).fill(4e6)),
    treatedAckRtts: acks,
    pings: acks.filter((_, i) => i % 2 === 0).map((a) => ({ tMs: a.tMs + 1, rttMs: a.rttMs + 1 })),
    bulk: [iperf(2000, new Array<number>(10).fill(15e6), 7), iperf(6000, [...new Array<number>(5).fill(10e6), ...new Array<number>(5).fill(20e6)], 3)],
  };
  const m = summarizeMixed(raw, 1000);

  it.each([
    ['treatedAckSamples', 900],
    ['treatedAckRttBulkOnP95Ms', 140],
    ['treatedAckRttBulkOffP95Ms', 42],
    ['treatedAckRttP50Ms', 42],
    // on: 2 x (1 s + BULK_TAIL_MS) of 9 s, under half -> p50 is the base, p95 and p99 the queue
    ['treatedAckRttP95Ms', 140],
    ['treatedAckRttP99Ms', 140],
    ['pingSamples', 450],
    ['pingP50Ms', 43],
    ['pingP99Ms', 141],
    ['treatedMbps', 4],
    ['bulkOnMbps', 15],
    ['bulkRetransmits', 10],
  ] as const)('%s = %s', (k, want) => {
    expect(m[k]).toBe(want);
  });
  it('bulk rate per period', () => {
    expect(m.bulkPeriodsMbps).toEqual([15, 15]);
  });
  it('the warm-up is left out (with none, its 500 ms samples are the tail)', () => {
    const w = summarizeMixed(raw, 0);
    expect(w.treatedAckSamples).toBe(1000);
    expect(w.treatedAckRttP99Ms).toBe(500);
    expect(w.pingP99Ms).toBe(501);
  });
  it('no QUIC fields without QUIC; QUIC rate and RTT tail with it', () => {
    expect(m.quicMbps).toBeUndefined();
    const senderRtt = Array.from({ length: 100 }, (_, i) => ({ tMs: 500 + i * 95, latestRttMs: i < 5 ? 1000 : 40 + i, smoothedRttMs: 50 }));
    const q = summarizeMixed({ ...raw, quic: { senderRtt, receivedBytes: 1, throughputMbps: 12.345, startMonoMs: 0, endMonoMs: 10_000 } }, 1000);
    expect(q.quicMbps).toBe(12.35);
    // samples from 1000 ms on: i = 6..99 (94 samples), rtt 46..139; p95 = rank 90 -> 40 + 95
    expect(q.quicRttP95Ms).toBe(135);
  });
  it('samples only while bulk is off: the off tail equals the base', () => {
    const noBulk = summarizeMixed({ ...raw, bulk: [] }, 1000);
    expect(noBulk.treatedAckRttBulkOnP95Ms).toBeNaN();
    expect(noBulk.bulkOnMbps).toBeNaN();
    expect(noBulk.bulkPeriodsMbps).toEqual([]);
  });
});

describe('summarizeFairness', () => {
  it.each([
    { a: [10e6, 10e6, 10e6, 10e6], b: [10e6, 10e6, 10e6, 10e6], jain: 1, min: 1 },
    // 15 vs 5 overall: (20)^2 / (2 * 250) = 0.8
    { a: [15e6, 15e6, 15e6, 15e6], b: [5e6, 5e6, 5e6, 5e6], jain: 0.8, min: 0.8 },
    // equal overall (10 vs 10), unequal in the second second: 15 vs 5
    { a: [5e6, 5e6, 15e6, 15e6], b: [15e6, 15e6, 5e6, 5e6], jain: 1, min: 0.8 },
  ])('jain $jain, worst second $min', ({ a, b, jain, min }) => {
    // 500 ms intervals from 0 to 2000
    const mk = (rates: number[]): IperfResult => ({
      ...iperf(0, []),
      receiver: rates.map((bps, i) => ({ startMs: i * 500, endMs: (i + 1) * 500, bps })),
    });
    const f = summarizeFairness([mk(a), mk(b)], 0, 2000);
    expect(f.jain).toBeCloseTo(jain, 3);
    expect(f.jainMin1s).toBeCloseTo(min, 3);
    expect(f.flowsMbps).toHaveLength(2);
  });
  it('a flow with no interval in the window makes the index undefined', () => {
    const f = summarizeFairness([iperf(0, [1e6, 1e6]), iperf(5000, [1e6])], 0, 200);
    expect(f.jain).toBeNaN();
  });
});

describe('sideBySide', () => {
  it('one row per metric, one column per trial, lists joined, zhugeFlows left out', () => {
    const t = sideBySide('T', [
      { label: 'without', metrics: { a: 1, list: [1, 2] } },
      { label: 'with', metrics: { a: 2.5, b: 7, zhugeFlows: ['x'] } },
    ]);
    const lines = t.split('\n');
    expect(lines[0]).toBe('T');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^a\s+1\s+2\.5$/);
    expect(lines[3]).toMatch(/^list\s+1\/2\s+-$/);
    expect(lines[4]).toMatch(/^b\s+-\s+7$/);
    expect(t).not.toContain('zhugeFlows');
  });
});

describe('bulkCports', () => {
  it.each([
    { what: 'the CI mix: on at 3, 9 and 15 s of 20', sc: MIXED_SCENARIO, want: [5310, 5311, 5312] },
    { what: 'a period that would end after the trial is not run', sc: { ...MIXED_SCENARIO, durationS: 17 }, want: [5310, 5311] },
    { what: 'none when the first period does not fit', sc: { ...MIXED_SCENARIO, durationS: 5 }, want: [] },
  ])('$what', ({ sc, want }) => {
    expect(bulkCports(sc)).toEqual(want);
  });
});
