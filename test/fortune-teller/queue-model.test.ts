import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { QueueModel } from '../../src/fortune-teller/index.js';

describe('QueueModel FIFO matching', () => {
  it('matches departures in order and tracks bytes, packets and head-of-line time', () => {
    const q = new QueueModel();
    q.onArrival(100, 1000, 1);
    q.onArrival(200, 500, 2);
    expect(q.bytesInQueue).toBe(1500);
    expect(q.packetsInQueue).toBe(2);
    expect(q.headSinceUs).toBe(100);
    expect(q.onDeparture(1000, 1000, 1)).toBe(100);
    // head became head at the departure of its predecessor, not at its arrival
    expect(q.headSinceUs).toBe(1000);
    expect(q.onDeparture(1500, 500, 2)).toBe(200);
    expect(q.bytesInQueue).toBe(0);
    expect(q.headSinceUs).toBe(-1);
    expect(q.counters.matched).toBe(2);
  });

  it.each([
    { lost: [1], retired: 1 },
    { lost: [1, 2], retired: 2 },
    { lost: [2], retired: 1 },
  ])('retires older unmatched entries as drops (lost departures $lost)', ({ lost, retired }) => {
    const q = new QueueModel();
    for (let k = 1; k <= 4; k++) q.onArrival(k * 10, 100, k);
    const arr = [1, 2, 3].filter((k) => !lost.includes(k));
    for (const k of arr) q.onDeparture(1000 + k, 100, k);
    expect(q.counters.retiredAsDrop).toBe(retired);
    expect(q.packetsInQueue).toBe(1);
    expect(q.bytesInQueue).toBe(100);
  });

  it('tolerates a departure seen before its arrival (the late arrival is not enqueued)', () => {
    const q = new QueueModel();
    expect(q.onDeparture(100, 1200, 77)).toBe(-1);
    q.onArrival(101, 1200, 77);
    expect(q.bytesInQueue).toBe(0);
    expect(q.counters.departuresWithoutArrival).toBe(1);
    expect(q.counters.arrivalsAfterDeparture).toBe(1);
    // a later, unrelated arrival with another key is enqueued normally
    q.onArrival(102, 1200, 78);
    expect(q.bytesInQueue).toBe(1200);
  });

  it('forgets early departures after the TTL', () => {
    const q = new QueueModel({ recentDepartureTtlUs: 1000 });
    q.onDeparture(0, 100, 5);
    q.onArrival(5000, 100, 5);
    expect(q.packetsInQueue).toBe(1);
  });

  it('removes an explicitly dropped packet by key', () => {
    const q = new QueueModel();
    q.onArrival(1, 100, 1);
    q.onArrival(2, 200, 2);
    q.onArrival(3, 300, 3);
    q.onDrop(3, 200, 2);
    expect(q.bytesInQueue).toBe(400);
    expect(q.onDeparture(10, 100, 1)).toBe(1);
    expect(q.onDeparture(11, 300, 3)).toBe(3);
    expect(q.counters.retiredAsDrop).toBe(0);
    expect(q.packetsInQueue).toBe(0);
  });

  it('bytesDeparted counts what left (matched or not), never the drops; bytesRemoved counts both', () => {
    // a full FIFO: five arrivals, the third dropped explicitly, the second retired when the fourth departs
    const q = new QueueModel();
    for (let k = 1; k <= 5; k++) q.onArrival(k, 1000, k);
    q.onDrop(6, 1000, 3);
    q.onDeparture(10, 1000, 1);
    q.onDeparture(20, 1000, 4);
    q.onDeparture(25, 700, 99); // a departure the eth tap never saw arrive
    expect(q.counters.retiredAsDrop).toBe(1);
    expect(q.bytesDeparted).toBe(2700);
    expect(q.bytesRemoved()).toBe(4000);
  });

  describe('backlog resync', () => {
    it.each([
      { name: 'tracked too high: oldest entries retired', kernel: 2000, expectBytes: 2000, resyncs: 1 },
      { name: 'tracked too low: untracked volume added', kernel: 9000, expectBytes: 9000, resyncs: 1 },
      { name: 'within tolerance: unchanged', kernel: 4000, expectBytes: 5000, resyncs: 0 },
      { name: 'kernel empty: cleared', kernel: 0, expectBytes: 0, resyncs: 1 },
    ])('$name', ({ kernel, expectBytes, resyncs }) => {
      const q = new QueueModel({ resyncToleranceBytes: 1500 });
      for (let k = 0; k < 5; k++) q.onArrival(k, 1000, k);
      q.onBacklogSample(100, kernel, kernel / 1000);
      expect(q.bytesInQueue).toBe(expectBytes);
      expect(q.counters.resyncs).toBe(resyncs);
    });

    it('untracked volume shrinks with departures that match nothing', () => {
      const q = new QueueModel({ resyncToleranceBytes: 0 });
      q.onBacklogSample(0, 3000, 2);
      expect(q.packetsInQueue).toBe(2);
      expect(q.headSinceUs).toBe(0);
      q.onDeparture(10, 1500, 9);
      expect(q.bytesInQueue).toBe(1500);
      q.onDeparture(20, 1500, 10);
      expect(q.bytesInQueue).toBe(0);
      expect(q.packetsInQueue).toBe(0);
    });
  });

  it('memory is bounded: the ring evicts the oldest entry when full', () => {
    const q = new QueueModel({ capacity: 1000 });
    expect(q.capacity).toBe(1024);
    for (let k = 0; k < 5000; k++) q.onArrival(k, 100, k);
    expect(q.packetsInQueue).toBe(1024);
    expect(q.bytesInQueue).toBe(102400);
    expect(q.counters.overflowEvictions).toBe(5000 - 1024);
    // the youngest are kept
    expect(q.onDeparture(6000, 100, 4999 - 1023)).toBe(4999 - 1023);
  });

  it('stays consistent over a long random stream with lost events (no drift)', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const q = new QueueModel({ capacity: 256 });
    const inQ: number[] = [];
    let next = 0;
    let head = 0;
    for (let t = 0; t < 200_000; t++) {
      if (rnd() < 0.5) {
        const k = next++;
        inQ.push(k);
        if (rnd() > 0.01) q.onArrival(t, 100, k);
      } else if (head < inQ.length) {
        const k = inQ[head++] ?? 0;
        if (rnd() > 0.01) q.onDeparture(t, 100, k);
      }
    }
    const truth = (inQ.length - head) * 100;
    expect(Math.abs(q.bytesInQueue - truth)).toBeLessThanOrEqual(100 * 256);
    q.onBacklogSample(200_001, truth, inQ.length - head);
    expect(Math.abs(q.bytesInQueue - truth)).toBeLessThanOrEqual(3000);
  });
});

describe('QueueModel invariants (property)', () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('a' as const), b: fc.integer({ min: 1, max: 1500 }), key: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ k: fc.constant('d' as const), b: fc.integer({ min: 1, max: 1500 }), key: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ k: fc.constant('x' as const), b: fc.integer({ min: 1, max: 1500 }), key: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }) }),
    fc.record({ k: fc.constant('s' as const), b: fc.integer({ min: 0, max: 20_000 }), key: fc.integer({ min: 0, max: 20 }) }),
  );
  it('never goes negative, never exceeds capacity, never throws', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new QueueModel({ capacity: 16, maxMatchScan: 8, recentDepartureSlots: 4 });
        let t = 0;
        let departed = 0;
        for (const o of ops) {
          t += 7;
          if (o.k === 'a') q.onArrival(t, o.b, o.key);
          else if (o.k === 'd') q.onDeparture(t, o.b, o.key);
          else if (o.k === 'x') q.onDrop(t, o.b, o.key);
          else q.onBacklogSample(t, o.b, o.key);
          expect(q.bytesInQueue).toBeGreaterThanOrEqual(0);
          expect(q.packetsInQueue).toBeGreaterThanOrEqual(0);
          expect(q.packetsInQueue - (q.untrackedBytes > 0 ? 20_000 : 0)).toBeLessThanOrEqual(16);
          if (q.packetsInQueue === 0) expect(q.bytesInQueue).toBe(0);
          if (q.bytesInQueue > 0) expect(q.headSinceUs).toBeGreaterThanOrEqual(0);
          // what departed is the sum of the departures given, whatever was dropped or resynced
          departed += o.k === 'd' ? o.b : 0;
          expect(q.bytesDeparted).toBe(departed);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
