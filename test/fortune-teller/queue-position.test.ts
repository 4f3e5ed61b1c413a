import { describe, expect, it } from 'vitest';
import { FortuneTeller } from '../../src/fortune-teller/fortune-teller.js';
import { QueueModel } from '../../src/fortune-teller/queue-model.js';

describe('QueueModel queue positions', () => {
  it('a FIFO position less the bytes removed since is the bytes still ahead, itself included', () => {
    const q = new QueueModel();
    const pos: number[] = [];
    for (const [k, size] of [[1, 100], [2, 200], [3, 300]] as const) {
      q.onArrival(k * 10, size, k);
      pos.push(q.position());
    }
    expect(pos).toEqual([100, 300, 600]);
    const matched: Array<[number, number]> = [];
    q.onMatchedDeparture = (key, t) => matched.push([key, t]);
    q.onDeparture(50, 100, 1);
    expect(matched).toEqual([[1, 50]]);
    expect((pos[1] ?? 0) - q.bytesRemoved()).toBe(200);
    expect((pos[2] ?? 0) - q.bytesRemoved()).toBe(500);
    // packet 2 passed over (dropped): it counts as removed, so packet 3 has only itself ahead
    q.onDeparture(60, 300, 3);
    expect((pos[2] ?? 0) - q.bytesRemoved()).toBe(0);
    expect(matched).toEqual([[1, 50], [3, 60]]);
  });

  it('under fq each flow has its own positions', () => {
    const q = new QueueModel({ discipline: 'fq' });
    q.onArrival(0, 100, 1, 7);
    q.onArrival(1, 500, 2, 9);
    q.onArrival(2, 100, 3, 7);
    expect(q.position(7)).toBe(200);
    expect(q.position(9)).toBe(500);
    q.onDeparture(5, 500, 2);
    expect(q.bytesRemoved(7)).toBe(0);
    expect(q.bytesRemoved(9)).toBe(500);
  });

  it('a resync that empties the queue removes every tracked byte', () => {
    const q = new QueueModel();
    q.onArrival(0, 1500, 1);
    q.onArrival(1, 1500, 2);
    q.onArrival(2, 1500, 3); // beyond the 3000-byte tolerance
    q.onBacklogSample(10, 0, 0);
    expect(q.position() - q.bytesRemoved()).toBe(0);
  });
});

/**
 * A steady 1500-byte packet every 1 ms through an empty queue (12 Mbit/s), then three more queued
 * behind each other: their queue positions, and a time 100 ms after they arrived.
 */
function queued(): { ft: FortuneTeller; pos: number[]; now: number } {
  const ft = new FortuneTeller();
  let t = 0;
  for (let k = 1; k <= 400; k++) {
    t = k * 1000;
    ft.onArrival(t, 1500, k);
    ft.onDeparture(t + 10, 1500, k);
  }
  const pos: number[] = [];
  for (let k = 401; k <= 403; k++) {
    ft.onArrival(t + 100, 1500, k);
    pos.push(ft.queue.position());
  }
  return { ft, pos, now: t + 200 };
}

describe('FortuneTeller.departureUs', () => {
  it('predicts a queued packet from the bytes still ahead of it at the dequeue rate', () => {
    const { ft, pos, now } = queued();
    const rate = ft.rate.rateBps;
    expect(rate).toBeGreaterThan(10e6);
    const d = pos.map((p) => ft.departureUs(now, p));
    expect((d[0] ?? 0) - now).toBeCloseTo((1500 * 8e6) / rate, 3);
    expect((d[2] ?? 0) - now).toBeCloseTo((4500 * 8e6) / rate, 3);
    ft.onDeparture(now + 1000, 1500, 401);
    expect(ft.departureUs(now + 1000, pos[0] ?? 0)).toBe(now + 1000); // nothing ahead: due now
    // no back-to-back departure ever measured a service rate: measuredOnly says unknown (NaN)
    // rather than extrapolate the windowed estimate, which a stall drags down
    expect(ft.service.rateBps(now + 1000)).toBeNaN();
    expect(Number.isFinite(ft.departureUs(now + 1000, pos[1] ?? 0))).toBe(true);
    expect(ft.departureUs(now + 1000, pos[1] ?? 0, 0, true)).toBeNaN();
  });
});

describe('FortuneTeller.setLinkRate (queue.rateFrom shaper)', () => {
  it.each([
    { name: 'a stated rate replaces the measured one', stated: 1e6, readAgoUs: 0, expectBps: 1e6 },
    { name: 'a stated rate read 1 s ago still counts', stated: 2e6, readAgoUs: 1_000_000, expectBps: 2e6 },
    { name: 'a stale stated rate is not used', stated: 1e6, readAgoUs: 1_000_001, expectBps: null },
    { name: 'a stated 0 (no shaper readable) falls back to the measured rate', stated: 0, readAgoUs: 0, expectBps: null },
    { name: 'a non-finite stated rate is ignored', stated: Number.NaN, readAgoUs: 0, expectBps: null },
  ])('$name', ({ stated, readAgoUs, expectBps }) => {
    const { ft, pos, now } = queued();
    const measuredUs = ft.departureUs(now, pos[2] ?? 0) - now;
    ft.setLinkRate(now - readAgoUs, stated);
    const d = ft.departureUs(now, pos[2] ?? 0) - now;
    if (expectBps === null) expect(d).toBeCloseTo(measuredUs, 6);
    else {
      expect(d).toBeCloseTo((4500 * 8e6) / expectBps, 3);
      expect(ft.statedRateBps(now)).toBe(expectBps);
    }
  });

  it('a stated rate also predicts when no departure measured a service rate (measuredOnly)', () => {
    const ft = new FortuneTeller();
    ft.onArrival(0, 1500, 1);
    const p = ft.queue.position();
    expect(ft.departureUs(10, p, 0, true)).toBeNaN();
    ft.setLinkRate(10, 1.2e6);
    expect(ft.departureUs(10, p, 0, true)).toBeCloseTo(10 + 10_000, 6);
  });
});
