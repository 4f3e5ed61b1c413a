import { describe, expect, it } from 'vitest';
import { ServiceRate } from '../../src/fortune-teller/service-rate.js';

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
    // after a step to 1 ms -> 10 ms per 1000 bytes, within `samples` departures the rate is the new one
    [1, 8e6 * (4 / 13)],
    [4, 0.8e6],
  ])('follows a rate step within its samples (%d departures at the new rate)', (n, expected) => {
    const s = new ServiceRate(4);
    let t = 0;
    for (let k = 0; k < 8; k++) s.onDeparture((t += 1000), 1000, 0);
    for (let k = 0; k < n; k++) s.onDeparture((t += 10_000), 1000, 0);
    expect(s.rateBps(t)).toBeCloseTo(expected, -3);
  });

  it('says nothing once its samples are old', () => {
    const s = new ServiceRate(4, 1_000_000);
    s.onDeparture(1000, 1000, 0);
    s.onDeparture(2000, 1000, 0);
    expect(s.rateBps(2000)).toBeGreaterThan(0);
    expect(s.rateBps(2_000_000)).toBeNaN();
  });
});
