import { describe, expect, it } from 'vitest';
import { RateEstimator, type RateEstimatorConfig } from '../../src/fortune-teller/index.js';

const cfg: RateEstimatorConfig = {
  slotUs: 1000,
  windowSlots: 100,
  minRateBps: 500_000,
  initialRateBps: 500_000,
  burstIntervalUs: 1000,
  txGroupGapUs: 100,
};

/** Backlogged link sending `bytesPerMs` every ms for `ms` ms, starting at t0 (µs). */
function sendSteady(e: RateEstimator, t0: number, ms: number, bytesPerMs: number): number {
  e.setBacklogged(t0, true);
  for (let i = 0; i < ms; i++) e.onDeparture(t0 + i * 1000 + 500, bytesPerMs);
  return t0 + ms * 1000;
}

describe('RateEstimator', () => {
  it.each([
    { bytesPerMs: 1250, expectBps: 10e6 },
    { bytesPerMs: 3750, expectBps: 30e6 },
  ])('measures a backlogged link at $expectBps bit/s', ({ bytesPerMs, expectBps }) => {
    const e = new RateEstimator(cfg);
    const t = sendSteady(e, 0, 150, bytesPerMs);
    e.advance(t);
    expect(e.rateBps).toBeCloseTo(expectBps, -3);
  });

  it('idle slots do not lower the rate', () => {
    const e = new RateEstimator(cfg);
    let t = sendSteady(e, 0, 50, 2500); // 20 Mbit/s
    e.setBacklogged(t, false); // queue empty
    t += 40_000; // 40 idle slots
    e.advance(t);
    expect(e.rateBps).toBeCloseTo(20e6, -3);
  });

  it('busy slots (queue non-empty, nothing sent) lower the rate and raise tx', () => {
    const e = new RateEstimator(cfg);
    let t = sendSteady(e, 0, 50, 2500);
    e.advance(t);
    const tx0 = e.txUs;
    t += 50_000; // 50 busy slots: queue stays non-empty, nothing leaves
    e.advance(t);
    expect(e.rateBps).toBeCloseTo(10e6, -3);
    expect(e.txUs).toBeGreaterThan(tx0 * 1.9);
  });

  it('the rate floor holds during a long stall', () => {
    const e = new RateEstimator(cfg);
    const t = sendSteady(e, 0, 10, 1500);
    e.advance(t + 10_000_000);
    expect(e.rateBps).toBe(cfg.minRateBps);
  });

  describe('slow links: the window stretches back to hold minWindowPackets departures', () => {
    /** A serializing link at rateBps, always backlogged, 1200-byte packets; rate sampled at every departure after warm-up. */
    function serialize(e: RateEstimator, rateBps: number, ms: number): number[] {
      const gapUs = (1200 * 8e6) / rateBps;
      const seen: number[] = [];
      e.setBacklogged(0, true);
      for (let t = gapUs; t < ms * 1000; t += gapUs) {
        e.onDeparture(t, 1200);
        if (t > 1_200_000) seen.push(e.rateBps);
      }
      return seen;
    }
    const slow = { ...cfg, minRateBps: 64_000 };
    it.each([
      // 0.3 Mbit/s = one 1200-byte packet per 32 ms: 3 per 100 ms window, stretched to 8 (~256 ms)
      { name: 'stretched to 8 packets', c: { ...slow, minWindowPackets: 8 }, used: [250, 260] },
      { name: 'plain 100 ms window', c: { ...slow, minWindowPackets: 0 }, used: [100, 100] },
    ])('0.3 Mbit/s, $name: every estimate within 5% of the rate', ({ c, used }) => {
      const e = new RateEstimator(c);
      const seen = serialize(e, 300_000, 4000);
      const worst = Math.max(...seen.map((r) => Math.abs(r / 300_000 - 1)));
      expect(worst).toBeLessThanOrEqual(0.05);
      expect(e.windowSlotsUsed).toBeGreaterThanOrEqual(used[0]!);
      expect(e.windowSlotsUsed).toBeLessThanOrEqual(used[1]!);
    });

    it('the reference floor (500 kbit/s) overestimates a 0.3 Mbit/s link by 1.67x; the 64 kbit/s floor does not', () => {
      const ref = serialize(new RateEstimator({ ...cfg, minWindowPackets: 8 }), 300_000, 3000);
      expect(Math.min(...ref)).toBe(500_000);
      const ours = serialize(new RateEstimator({ ...slow, minWindowPackets: 8 }), 300_000, 3000);
      expect(Math.max(...ours)).toBeLessThan(340_000);
    });

    it('a 150 ms stall on a 30 Mbit/s link: the stretched window reaches the departures before it', () => {
      const e = new RateEstimator({ ...slow, minWindowPackets: 8 });
      const t = sendSteady(e, 0, 200, 3750); // 30 Mbit/s, 1 packet per ms
      e.advance(t + 150_000); // backlogged, nothing leaves
      // the last 8 departures (8 ms) and the 150 busy slots: 30 KB over 158 ms
      expect(e.windowSlotsUsed).toBe(158);
      expect(e.rateBps).toBeCloseTo((8 * 3750 * 8e6) / 158_000, -3);
      const plain = new RateEstimator({ ...slow, minWindowPackets: 0 });
      plain.advance(sendSteady(plain, 0, 200, 3750) + 150_000);
      expect(plain.rateBps).toBe(64_000);
    });

    it('a fast link never stretches', () => {
      const e = new RateEstimator({ ...slow, minWindowPackets: 8 });
      e.advance(sendSteady(e, 0, 300, 3750));
      expect(e.windowSlotsUsed).toBe(100);
    });
  });

  it('keeps the previous estimate when the whole window is idle', () => {
    const e = new RateEstimator(cfg);
    const t = sendSteady(e, 0, 100, 2500);
    e.setBacklogged(t, false);
    e.advance(t + 5_000_000);
    expect(e.rateBps).toBeCloseTo(20e6, -3);
  });

  it.each([
    { aggBytes: 12_000, periodUs: 4000 },
    { aggBytes: 30_000, periodUs: 8000 },
  ])('maxBurstBytes tracks aggregated bursts of $aggBytes B, straddling slot edges', ({ aggBytes, periodUs }) => {
    const e = new RateEstimator(cfg);
    e.setBacklogged(0, true);
    const pkts = aggBytes / 1500;
    for (let b = 0; b < 20; b++) {
      // bursts start 0.9 ms into a slot and spill into the next one
      const t0 = b * periodUs + 900;
      for (let i = 0; i < pkts; i++) e.onDeparture(t0 + i * 20, 1500);
    }
    e.advance(20 * periodUs + 2000);
    expect(e.maxBurstBytes).toBe(aggBytes);
    expect(e.maxGroupBytes).toBe(aggBytes);
    // tx is the time between aggregates, not per packet
    expect(e.txUs).toBeGreaterThan(periodUs * 0.5);
    expect(e.txUs).toBeLessThan(periodUs * 1.5);
  });

  it('maxBurstBytes forgets bursts older than the window', () => {
    const e = new RateEstimator(cfg);
    e.setBacklogged(0, true);
    for (let i = 0; i < 20; i++) e.onDeparture(100 + i, 1500);
    let t = 5000;
    for (let i = 0; i < 300; i++, t += 1000) e.onDeparture(t, 1000);
    e.advance(t);
    expect(e.maxBurstBytes).toBe(1000);
  });

  it('a rate drop shows up within the window', () => {
    const e = new RateEstimator(cfg);
    let t = sendSteady(e, 0, 100, 3750); // 30 Mbit/s
    t = sendSteady(e, t, 100, 625); // 5 Mbit/s for one window
    e.advance(t);
    expect(e.rateBps).toBeCloseTo(5e6, -3);
  });

  it('on a serializing link each packet is its own transmission group', () => {
    const e = new RateEstimator(cfg);
    e.setBacklogged(0, true);
    for (let i = 0; i < 200; i++) e.onDeparture(i * 400, 1500); // 30 Mbit/s, 400 µs apart
    e.advance(80_000);
    expect(e.maxGroupBytes).toBe(1500);
    expect(e.txUs).toBeCloseTo(400, -1);
  });

  it.each([2e6, 12e6])('measures the arrival rate (%d bit/s) over the window, idle slots included', (bps) => {
    const e = new RateEstimator(cfg);
    const gapUs = (1000 * 8e6) / bps;
    let t = 0;
    for (; t < 300_000; t += gapUs) e.onArrival(t, 1000);
    e.advance(t);
    expect(e.arrivalRateBps / bps).toBeCloseTo(1, 1);
  });
});
