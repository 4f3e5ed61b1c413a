/**
 * FqShare: the max-min fair share of a per-flow fair queue (queue.discipline 'fq'), from the
 * flows' offered rates of the last epoch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FqShare } from '../../src/feedback-updater/index.js';

const EPOCH_US = 200_000;

/** Offers each flow's rate (bit/s) evenly over one epoch starting at t0, in 1000-byte packets. */
function offer(s: FqShare, t0: number, ratesBps: readonly number[]): void {
  ratesBps.forEach((r, flow) => {
    const packets = Math.round((r * 0.2) / 8 / 1000);
    for (let i = 0; i < packets; i++) s.add(t0 + (i * EPOCH_US) / Math.max(1, packets), flow * 7919, 1000);
  });
}

describe('FqShare: max-min fair share over the last full epoch', () => {
  const cases: Array<{ name: string; offeredBps: number[]; linkBps: number; shareBps: number }> = [
    { name: 'one greedy flow gets the link', offeredBps: [30e6], linkBps: 20e6, shareBps: 20e6 },
    { name: 'two greedy flows split it', offeredBps: [25e6, 30e6], linkBps: 20e6, shareBps: 10e6 },
    { name: 'a 4 Mbit/s flow keeps its rate, the greedy one gets the rest', offeredBps: [4e6, 30e6], linkBps: 20e6, shareBps: 16e6 },
    { name: 'water-filling over three', offeredBps: [1e6, 2e6, 30e6], linkBps: 10e6, shareBps: 7e6 },
    { name: 'a bulk flow next to two greedy ones: thirds', offeredBps: [20e6, 20e6, 20e6], linkBps: 30e6, shareBps: 10e6 },
    { name: 'link not full: the largest may grow into what is left', offeredBps: [2e6, 3e6], linkBps: 20e6, shareBps: 18e6 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = new FqShare();
      offer(s, 0, c.offeredBps);
      // asked in the next epoch: the full epoch decides
      expect(s.fairShareBps(EPOCH_US + 1000, c.linkBps)).toBeCloseTo(c.shareBps, -3);
      expect(s.flows(EPOCH_US + 1000)).toBe(c.offeredBps.length);
    });
  }

  it('nothing offered: the whole link; a silent epoch forgets the old rates', () => {
    const s = new FqShare();
    expect(s.fairShareBps(5_000, 20e6)).toBe(20e6);
    offer(s, 0, [30e6, 30e6]);
    expect(s.fairShareBps(EPOCH_US + 1, 20e6)).toBeCloseTo(10e6, -3);
    // epoch 2 silent, asked in epoch 3: no full previous epoch, nothing current
    expect(s.fairShareBps(3 * EPOCH_US + 10, 20e6)).toBe(20e6);
  });

  it('in the first epoch, the current partial epoch is used', () => {
    const s = new FqShare();
    for (let i = 0; i < 100; i++) {
      s.add(i * 1000, 1, 1250);
      s.add(i * 1000, 2, 1250);
    }
    // two flows of 10 Mbit/s each over the 100 ms so far, on a 12 Mbit/s link
    expect(s.fairShareBps(100_000, 12e6)).toBeCloseTo(6e6, -3);
  });

  it('the bulk flow starting halves a greedy flow\'s share, and its stop restores it', () => {
    const s = new FqShare();
    offer(s, 0, [25e6]);
    expect(s.fairShareBps(EPOCH_US + 1, 20e6)).toBeCloseTo(20e6, -3);
    offer(s, EPOCH_US, [25e6, 25e6]);
    expect(s.fairShareBps(2 * EPOCH_US + 1, 20e6)).toBeCloseTo(10e6, -3);
    offer(s, 2 * EPOCH_US, [25e6]);
    expect(s.fairShareBps(3 * EPOCH_US + 1, 20e6)).toBeCloseTo(20e6, -3);
  });

  it('flows hashing to one bucket count as one (as in the fair queue itself)', () => {
    const s = new FqShare({ buckets: 4 });
    s.add(0, 1, 1000);
    s.add(0, 5, 1000); // 5 & 3 === 1
    s.add(0, 2, 1000);
    expect(s.flows(EPOCH_US)).toBe(2);
  });

  it('rejects a bad configuration', () => {
    expect(() => new FqShare({ buckets: 0 })).toThrow(RangeError);
    expect(() => new FqShare({ buckets: 1 << 20 })).toThrow(RangeError);
    expect(() => new FqShare({ epochMs: 0 })).toThrow(RangeError);
  });

  it('property: C / n <= share <= C when the link is full, share >= the largest rate otherwise', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1000, max: 100_000 }), (kbytes, linkKbps) => {
        const s = new FqShare();
        kbytes.forEach((kb, i) => s.add(1000, i + 1, kb * 1000));
        const linkBps = linkKbps * 1000;
        const share = s.fairShareBps(EPOCH_US + 5, linkBps);
        const rates = kbytes.map((kb) => (kb * 1000 * 8) / 0.2);
        const offered = rates.reduce((a, b) => a + b, 0);
        if (offered >= linkBps) {
          expect(share).toBeGreaterThanOrEqual(linkBps / kbytes.length - 1e-6);
          expect(share).toBeLessThanOrEqual(linkBps + 1e-6);
          // what max-min gives: the flows below the share keep their rate, the rest share equally
          const used = rates.reduce((a, r) => a + Math.min(r, share), 0);
          expect(Math.abs(used - linkBps)).toBeLessThan(1e-3 * linkBps);
        } else {
          expect(share).toBeGreaterThanOrEqual(Math.max(...rates) - 1e-6);
        }
      }),
    );
  });
});
