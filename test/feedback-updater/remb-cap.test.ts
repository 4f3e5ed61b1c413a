import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LIFT_REPEATS, REMB_CAP_DEFAULTS, RembCap, type CapQueueSample } from '../../src/feedback-updater/remb-cap.js';

const MS = 1000;
const q = (serviceRateBps: number, backlogBytes: number, share = 1, headAgeUs = 0, departedBytes = Number.NaN): CapQueueSample => ({ serviceRateBps, backlogBytes, share, headAgeUs, departedBytes });

/** the plain mechanism these tests were written for: the busy-rate estimate and doubling (the defaults were those until the eleventh round) */
const DOUBLING = { ...REMB_CAP_DEFAULTS, recovery: 'doubling' as const, delayFrom: 'estimate' as const };

describe('RembCap: the cap while the queue stands', () => {
  it.each([
    // name, rate, backlog bytes, the flow's share, expected cap (bit/s; NaN: no REMB)
    ['empty queue: nothing', 500_000, 0, 1, Number.NaN],
    ['a short queue (40 ms): nothing', 500_000, 2500, 1, Number.NaN],
    ['exactly the target (50 ms): nothing', 500_000, 3125, 1, Number.NaN],
    ['200 ms standing: the rate less the drain of its excess (1 - 150/500)', 500_000, 12_500, 1, 350_000],
    ['1 s standing: halved at most', 500_000, 62_500, 1, 250_000],
    ['200 ms, the flow holds half the queue: half the rate', 500_000, 12_500, 0.5, 175_000],
    ['a tiny link: never below 30 kbit/s', 20_000, 5000, 1, 30_000],
    ['no rate measured, nothing capped yet: nothing', Number.NaN, 12_500, 1, Number.NaN],
  ] as const)('%s', (_name, rate, backlog, flow, want) => {
    const c = new RembCap(DOUBLING);
    const got = c.update(0, q(rate, backlog, flow), 1_500_000);
    if (Number.isNaN(want)) expect(got).toBeNaN();
    else expect(got).toBeCloseTo(want, 3);
  });

  it('holds the cap while no rate is measured with packets queued (a stall)', () => {
    const c = new RembCap(DOUBLING);
    expect(c.update(0, q(500_000, 12_500), 1_500_000)).toBeCloseTo(350_000);
    expect(c.update(50 * MS, q(Number.NaN, 20_000), 400_000)).toBeCloseTo(350_000);
    expect(c.capBps).toBeCloseTo(350_000);
  });

  it('a packet or two queued with no rate measured is a short queue: the cap grows (a link far faster than the capped call)', () => {
    const c = new RembCap(DOUBLING);
    c.update(0, q(500_000, 12_500), 1_500_000);
    expect(c.update(250 * MS, q(Number.NaN, 1500), 385_000)).toBeCloseTo(700_000);
  });

  it('grows x2 per 250 ms once the queue is short, then lifts it (repeated) when it no longer binds', () => {
    const c = new RembCap(DOUBLING);
    expect(c.update(0, q(500_000, 12_500), 1_500_000)).toBeCloseTo(350_000);
    expect(c.engaged).toBe(1);
    // the sender follows the cap (1.1 x, its pacer): the queue is gone
    expect(c.update(250 * MS, q(500_000, 0), 385_000)).toBeCloseTo(700_000);
    // its own estimate now binds (it sends 400 kbit/s): the cap keeps growing until 4x that
    const seen: number[] = [];
    for (let t = 300; t <= 1000; t += 50) seen.push(c.update(t * MS, q(500_000, 0), 400_000));
    const lift = seen.findIndex((b) => b === Number.POSITIVE_INFINITY);
    expect(lift).toBeGreaterThan(0);
    expect(seen.slice(0, lift).every((b, i) => i === 0 || b > (seen[i - 1] ?? 0))).toBe(true);
    expect(seen[lift - 1]).toBeLessThanOrEqual(1_600_000);
    expect(seen.slice(lift, lift + LIFT_REPEATS).every((b) => b === Number.POSITIVE_INFINITY)).toBe(true);
    expect(seen.slice(lift + LIFT_REPEATS).every((b) => Number.isNaN(b))).toBe(true);
    expect(c.lifted).toBe(1);
    expect(c.capBps).toBe(Number.POSITIVE_INFINITY);
  });

  it('a queue standing again while growing sets the cap from the queue at once', () => {
    const c = new RembCap(DOUBLING);
    c.update(0, q(500_000, 12_500), 1_500_000);
    c.update(100 * MS, q(500_000, 0), 385_000);
    expect(c.update(150 * MS, q(500_000, 6250), 500_000)).toBeCloseTo(500_000 * (1 - 50 / 500));
    expect(c.engaged).toBe(1);
  });

  it('property: the cap is within [minBps, the flow fair rate] whenever the queue stands', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10_000, max: 1e9 }), fc.integer({ min: 1, max: 1e7 }), fc.double({ min: 0, max: 1, noNaN: true }), (rate, backlog, part) => {
        const c = new RembCap(DOUBLING);
        const got = c.update(0, q(rate, backlog, part), 1e9);
        const delayMs = (backlog * 8000) / rate;
        if (delayMs <= REMB_CAP_DEFAULTS.targetMs) {
          expect(got).toBeNaN();
        } else {
          expect(got).toBeGreaterThanOrEqual(REMB_CAP_DEFAULTS.minBps);
          expect(got).toBeLessThanOrEqual(Math.max(REMB_CAP_DEFAULTS.minBps, rate * part) + 1e-6);
        }
      }),
    );
  });
});

describe("RembCap recovery 'measured'", () => {
  const cfg = { ...DOUBLING, recovery: 'measured' as const };

  it('a dip over: the cap rises at once to the share of the rate the draining departures show', () => {
    const c = new RembCap(cfg);
    expect(c.update(0, q(260_000, 6500, 0.8), 1_200_000)).toBeCloseTo(0.8 * 260_000 * (1 - 150 / 500));
    // the link is back at 1.4 Mbit/s: the queue drained at that rate
    expect(c.update(50 * MS, q(1_400_000, 0), 300_000)).toBeCloseTo(0.8 * 1_400_000);
  });

  it('a lasting drop: the rate measured stays low, so the cap only doubles as before', () => {
    const c = new RembCap(cfg);
    const d = new RembCap(DOUBLING);
    for (const r of [c, d]) r.update(0, q(500_000, 12_500), 1_500_000);
    expect(c.update(250 * MS, q(500_000, 0), 385_000)).toBeCloseTo(d.update(250 * MS, q(500_000, 0), 385_000));
  });
});

describe("RembCap recovery 'track'", () => {
  const cfg = { ...DOUBLING, recovery: 'track' as const };

  it.each([
    { what: 'the link stays low: held at the share of its rate, not doubled above it', rateBps: 260_000, want: 0.8 * 260_000 },
    { what: 'the link recovered: at once at the share of the new rate', rateBps: 1_400_000, want: 0.8 * 1_400_000 },
    { what: 'the link fell further: down with it, without a standing queue', rateBps: 150_000, want: 0.8 * 150_000 },
  ])('$what', ({ rateBps, want }) => {
    const c = new RembCap(cfg);
    c.update(0, q(260_000, 6500, 0.8), 1_200_000);
    // a second later, the queue short every build: the cap follows the measured rate
    let last = Number.NaN;
    for (let t = 50; t <= 1000; t += 50) last = c.update(t * MS, q(rateBps, 0), 0.8 * rateBps);
    expect(last).toBeCloseTo(want);
    expect(c.lifted).toBe(0);
  });

  it('no rate measured (the link serves the call without a queue): doubles and is lifted as with doubling', () => {
    const c = new RembCap(cfg);
    const d = new RembCap(DOUBLING);
    for (const r of [c, d]) r.update(0, q(500_000, 12_500), 1_500_000);
    for (let t = 50; t <= 1500; t += 50) expect(c.update(t * MS, q(Number.NaN, 0), 300_000)).toEqual(d.update(t * MS, q(Number.NaN, 0), 300_000));
    expect(c.lifted).toBe(1);
  });

  it('a measured rate far above what the flow sends: lifted (the cap no longer binds)', () => {
    const c = new RembCap(cfg);
    c.update(0, q(500_000, 12_500), 1_500_000);
    expect(c.update(50 * MS, q(8_000_000, 0), 400_000)).toBe(Number.POSITIVE_INFINITY);
    expect(c.lifted).toBe(1);
  });
});

describe("RembCap delayFrom 'observed' (a link that serves in bursts between stalls)", () => {
  const cfg = { ...DOUBLING, delayFrom: 'observed' as const };
  /** builds every 50 ms: busy rate 1.25 Mbit/s, 6 kB queued, 1250 bytes drained per build (0.2 Mbit/s), the head waiting headMs */
  const bursty = (c: RembCap, builds: number, headMs: number): number => {
    let last = Number.NaN;
    for (let k = 0; k < builds; k++) last = c.update(k * 50 * MS, q(1_250_000, 6000, 1, headMs * MS, 100_000 + k * 1250), 300_000);
    return last;
  };

  it("'estimate' sees 38 ms of backlog at the bursts' rate: no cap, while the head has waited 500 ms", () => {
    const c = new RembCap(DOUBLING);
    expect(bursty(c, 10, 500)).toBeNaN();
    expect(c.engaged).toBe(0);
  });

  it("'observed': the head's wait makes it standing, and the cap comes from the drained 0.2 Mbit/s (halved at most)", () => {
    const c = new RembCap(cfg);
    expect(bursty(c, 10, 500)).toBeCloseTo(0.5 * 200_000, -3);
    expect(c.engaged).toBe(1);
  });

  it.each([
    { what: 'nothing queued: nothing', rate: 500_000, backlog: 0, headMs: 0, want: Number.NaN },
    { what: 'a short queue whose head waited 20 ms: nothing', rate: 500_000, backlog: 1500, headMs: 20, want: Number.NaN },
    { what: 'no drained rate yet: the busy rate, the delay from the head', rate: 500_000, backlog: 6000, headMs: 300, want: 0.5 * 500_000 },
  ])('$what', ({ rate, backlog, headMs, want }) => {
    const got = new RembCap(cfg).update(0, q(rate, backlog, 1, headMs * MS, 0), 1_000_000);
    if (Number.isNaN(want)) expect(got).toBeNaN();
    else expect(got).toBeCloseTo(want);
  });

  it('a drained rate above the busy rate never raises it', () => {
    const c = new RembCap(cfg);
    // 12.5 kB drained per 50 ms (2 Mbit/s) while the busy rate says 0.5: 200 ms queued at 0.5
    let last = Number.NaN;
    for (let k = 0; k < 5; k++) last = c.update(k * 50 * MS, q(500_000, 12_500, 1, 100 * MS, k * 12_500), 1_500_000);
    expect(last).toBeCloseTo(500_000 * (1 - 150 / 500));
  });

  it('no rate at all with a deep queue (a stall): the cap in force is held', () => {
    const c = new RembCap(cfg);
    const first = c.update(0, q(500_000, 12_500, 1, 200 * MS, 0), 1_500_000);
    expect(c.update(50 * MS, q(Number.NaN, 20_000, 1, 400 * MS, 0), 400_000)).toBe(first);
  });
});
