import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimedRing } from '../../src/feedback-updater/timed-ring.js';

describe('TimedRing (grown on demand)', () => {
  it('behaves like a bounded FIFO whatever the mix of pushes, expiries and shifts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.oneof(fc.record({ op: fc.constant('push' as const), v: fc.integer({ min: 0, max: 1000 }) }), fc.record({ op: fc.constant('shift' as const) }), fc.record({ op: fc.constant('expire' as const), age: fc.integer({ min: 0, max: 50 }) })), { maxLength: 600 }),
        (cap, ops) => {
          const r = new TimedRing(cap);
          const model: Array<[number, number]> = [];
          let t = 0;
          for (const o of ops) {
            t++;
            if (o.op === 'push') {
              const lost = r.push(t, o.v);
              let expectLost = 0;
              if (model.length === cap) expectLost = model.shift()?.[1] ?? 0;
              model.push([t, o.v]);
              expect(lost).toBe(expectLost);
            } else if (o.op === 'shift') {
              r.shift();
              model.shift();
            } else {
              const dropped = r.expire(t, o.age);
              let sum = 0;
              while (model.length > 0 && t - (model[0]?.[0] ?? 0) > o.age) sum += model.shift()?.[1] ?? 0;
              expect(dropped).toBe(sum);
            }
            expect(r.length).toBe(model.length);
          }
          model.forEach(([, v], k) => expect(r.valueAt(k)).toBe(v));
          expect(r.allocatedBytes).toBeLessThanOrEqual(Math.max(16, cap) * 16);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an idle flow costs 16 entries, not the capacity', () => {
    expect(new TimedRing(4096).allocatedBytes).toBe(256);
  });
});
