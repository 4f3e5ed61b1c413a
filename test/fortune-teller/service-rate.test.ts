import { describe, expect, it } from 'vitest';
import { ServiceRate } from '../../src/fortune-teller/service-rate.js';

/** 1000-byte departures every `gapsUs[i]` µs, each packet queued long before (back to back) */
function run(s: ServiceRate, gapsUs: readonly number[], t0 = 0): number {
  let t = t0;
  for (const g of gapsUs) s.onDeparture((t += g), 1000, 0);
  return t;
}

const ms = (n: number, gapUs: number): number[] => Array.from({ length: n }, () => gapUs);

describe('ServiceRate', () => {
  it('measures back-to-back departures only, never idle gaps', () => {
    const s = new ServiceRate(4);
    // 1000-byte packets every 1 ms, each arriving long before: 8 Mbit/s
    for (let k = 1; k <= 6; k++) s.onDeparture(k * 1000, 1000, 0);
    expect(s.rateBps(6000)).toBeCloseTo(8e6, 0);
    // a packet that arrived after the previous departure: the gap was idle, not service
    s.onDeparture(50_000, 1000, 40_000);
    expect(s.rateBps(50_000)).toBeCloseTo(8e6, 0);
  });

  it.each([
    // [what, gaps after 8 at 1 ms, expected rate, restarts, outliers]
    ['a 10x drop: one departure at the new rate is held aside', ms(1, 10_000), 8e6, 0, 0],
    ['a 10x drop: two restart the window at the new rate', ms(2, 10_000), 0.8e6, 1, 0],
    ['a 10x drop: later departures fill the new window', ms(6, 10_000), 0.8e6, 1, 0],
    ['a 2x drop stays in the window (within the factor)', ms(4, 2000), 8e6 * (8 / 12), 0, 0],
    ['one stall (a 200 ms interruption) then the old rate: discarded', [200_000, 1000, 1000], 8e6, 0, 1],
    ['a 10x recovery after a drop: two fast departures restart it', [...ms(2, 10_000), ...ms(2, 1000)], 8e6, 2, 0],
  ])('%s', (_what, gaps, expected, restarts, outliers) => {
    const s = new ServiceRate(8);
    const t = run(s, [...ms(8, 1000), ...gaps]);
    expect(s.rateBps(t)).toBeCloseTo(expected, -3);
    expect(s.restarts).toBe(restarts);
    expect(s.outliers).toBe(outliers);
  });

  it('never restarts on gaps alternating within the factor around a steady rate', () => {
    // gaps alternating 0.5/1.5 ms (mean 1 ms) never restart the window
    const s = new ServiceRate(8);
    const t = run(s, Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 500 : 1500)));
    expect(s.restarts).toBe(0);
    expect(s.rateBps(t)).toBeCloseTo(8e6, -4);
  });

  it('says how long a rate lasts on the link: the shortest of the last ones, or the current one when longer', () => {
    const s = new ServiceRate(8);
    expect(s.horizonUs(0)).toBe(Number.POSITIVE_INFINITY); // nothing seen
    let t = run(s, ms(20, 1000)); // 20 ms at 8 Mbit/s
    expect(s.horizonUs(t)).toBe(Number.POSITIVE_INFINITY); // no change yet
    t = run(s, ms(10, 10_000), t); // then 100 ms at 0.8
    t = run(s, ms(5, 1000), t); // then 5 ms at 8
    // completed: 19 ms (the first rate, from its first back-to-back gap to the start of the
    // drop's first departure) and 100 ms
    expect(s.horizonUs(t)).toBe(19_000);
    // the current rate has held for 500 ms since: the link holds still now
    expect(s.horizonUs(t + 500_000)).toBeCloseTo(505_000, -3);
  });

  it('says how long the current rate has lasted: from its first back-to-back gap, again from each restart', () => {
    const s = new ServiceRate(8);
    expect(s.ageUs(0)).toBe(Number.POSITIVE_INFINITY); // nothing measured
    let t = run(s, ms(20, 1000)); // 20 ms at 8 Mbit/s
    expect(s.ageUs(t)).toBe(19_000);
    t = run(s, ms(1, 10_000), t); // one slow departure: held aside, no restart
    expect(s.ageUs(t)).toBe(29_000);
    t = run(s, ms(1, 10_000), t); // a second: the rate changed 20 ms ago
    expect(s.ageUs(t)).toBe(20_000);
    expect(s.ageUs(t + 300_000)).toBe(320_000);
  });

  it('forgets rates that ended long ago: a drop after 10 s at one rate is not bounded by the short ones before', () => {
    const s = new ServiceRate(8);
    let t = run(s, ms(20, 1000)); // 20 ms at 8 Mbit/s
    t = run(s, ms(10, 10_000), t); // 100 ms at 0.8
    t = run(s, ms(10_000, 1000), t); // 10 s at 8 (the short ones ended 10 s ago)
    t = run(s, ms(3, 10_000), t); // the drop: 30 ms at 0.8 so far
    // completed and recent: the 10 s rate only
    expect(s.horizonUs(t)).toBeGreaterThan(9_900_000);
    // within REGIME_MEMORY_US the short ones still count
    const r = new ServiceRate(8);
    let u = run(r, ms(20, 1000));
    u = run(r, ms(10, 10_000), u);
    u = run(r, ms(2000, 1000), u); // 2 s at 8
    u = run(r, ms(3, 10_000), u);
    expect(r.horizonUs(u)).toBeLessThan(200_000);
  });

  it('says nothing once its samples are old', () => {
    const s = new ServiceRate(4, 1_000_000);
    s.onDeparture(1000, 1000, 0);
    s.onDeparture(2000, 1000, 0);
    expect(s.rateBps(2000)).toBeGreaterThan(0);
    expect(s.rateBps(2_000_000)).toBeNaN();
  });
});
