import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HoldQueue, type TimerApi } from '../../src/daemon/hold-queue.js';
import { MinHeap } from '../../src/daemon/min-heap.js';

/** A fake timer API driven by the test: time only moves when the test says so. */
function fakeTimers(): TimerApi & { advanceTo(us: number): void; pending: number } {
  let nowUs = 0;
  let nextId = 1;
  const timers = new Map<number, { atUs: number; fn: () => void }>();
  const api = {
    now: () => nowUs,
    setTimeout: (fn: () => void, delayMs: number) => {
      const id = nextId++;
      timers.set(id, { atUs: nowUs + delayMs * 1000, fn });
      return id;
    },
    clearTimeout: (h: unknown) => {
      timers.delete(h as number);
    },
    advanceTo(us: number) {
      for (;;) {
        let best: [number, { atUs: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].atUs <= us && (best === undefined || e[1].atUs < best[1].atUs)) best = e;
        if (best === undefined) break;
        timers.delete(best[0]);
        nowUs = best[1].atUs;
        best[1].fn();
      }
      nowUs = us;
    },
    get pending() {
      return timers.size;
    },
  };
  return api;
}

describe('MinHeap', () => {
  it('pops in (release time, insertion) order for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (times) => {
        const h = new MinHeap<number>();
        times.forEach((t, i) => h.push({ releaseUs: t, seq: i, item: i }));
        const out: Array<[number, number]> = [];
        for (let x = h.pop(); x !== undefined; x = h.pop()) out.push([x.releaseUs, x.seq]);
        const expected = times.map((t, i): [number, number] => [t, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(out).toEqual(expected);
      }),
    );
  });
});

describe('HoldQueue', () => {
  it('never releases early, releases due items in order and flushes once per batch', () => {
    const t = fakeTimers();
    const released: Array<[string, number]> = [];
    let batches = 0;
    const q = new HoldQueue<string>(t, (item) => released.push([item, t.now()]), () => batches++);
    q.hold('a', 5_000);
    q.hold('b', 2_000);
    q.hold('c', 2_000);
    q.hold('d', 9_500);
    t.advanceTo(1_999);
    expect(released).toEqual([]);
    t.advanceTo(2_000);
    expect(released.map((r) => r[0])).toEqual(['b', 'c']);
    expect(batches).toBe(1);
    t.advanceTo(20_000);
    expect(released.map((r) => r[0])).toEqual(['b', 'c', 'a', 'd']);
    for (const [item, at] of released) {
      const due = { a: 5_000, b: 2_000, c: 2_000, d: 9_500 }[item] ?? 0;
      expect(at).toBeGreaterThanOrEqual(due);
      expect(at - due).toBeLessThan(1_000); // timers are armed with a ceil to the next ms
    }
    expect(q.size).toBe(0);
    expect(t.pending).toBe(0);
  });

  it('drain releases everything at once, in order, and disarms the timer', () => {
    const t = fakeTimers();
    const released: string[] = [];
    const q = new HoldQueue<string>(t, (item) => released.push(item), () => {});
    q.hold('late', 50_000);
    q.hold('early', 10_000);
    expect(q.drain()).toBe(2);
    expect(released).toEqual(['early', 'late']);
    expect(t.pending).toBe(0);
  });
});
