import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FortuneTeller,
  defaultFortuneTellerConfig,
  newPrediction,
  validateFortuneTellerConfig,
  type FortuneTellerConfig,
} from '../../src/fortune-teller/index.js';

const base: FortuneTellerConfig = { ...defaultFortuneTellerConfig, windowSlots: 100 };

/** Saturated serializing link: a packet of 1250 B arrives and one leaves every 1 ms (10 Mbit/s). */
function warm(ft: FortuneTeller, ms: number, standing: number): { t: number; key: number } {
  let key = 0;
  for (let i = 0; i < standing; i++) ft.onArrival(0, 1250, key++);
  let t = 0;
  for (let i = 0; i < ms; i++) {
    t = i * 1000 + 500;
    ft.onArrival(t, 1250, key);
    ft.onDeparture(t + 1, 1250, key - standing);
    key++;
  }
  return { t, key };
}

describe('FortuneTeller', () => {
  it('default config is valid; bad configs are reported', () => {
    expect(validateFortuneTellerConfig(defaultFortuneTellerConfig)).toEqual([]);
    const bad = { ...defaultFortuneTellerConfig, windowSlots: 0, minRateBps: -1, slotUs: 1.5 };
    expect(validateFortuneTellerConfig(bad)).toHaveLength(3);
    expect(() => new FortuneTeller(bad)).toThrow(RangeError);
  });

  it.each(['reference', 'aggregate-aware'] as const)(
    '%s: a stall raises qShort within 2 ms (of the current transmission\'s expected end) while qLong lags',
    (mode) => {
      const ft = new FortuneTeller({ ...base, mode, aggregationRule: 'off' });
      const { t } = warm(ft, 200, 20);
      const before = { ...ft.predict(t + 10) };
      // stall: arrivals continue, nothing leaves. The last transmission (1250 B at 10 Mbit/s)
      // was expected to end 1 ms after t.
      let key = 10_000;
      const after = newPrediction();
      for (let dt = 1000; dt <= 3000; dt += 1000) ft.onArrival(t + dt, 100, key++);
      ft.predict(t + 3010, 0, after);
      expect(after.qShortMs).toBeGreaterThanOrEqual(1.9);
      expect(after.qShortMs - before.qShortMs).toBeGreaterThan(0.9);
      // 300 B arrived in the stall and the rate fell by ~3 %: qLong moves by less than qShort
      expect(after.qLongMs - before.qLongMs).toBeLessThan(after.qShortMs - before.qShortMs);
      expect(after.totalMs).toBeGreaterThan(before.totalMs + 0.9);
    },
  );

  it('a rate drop raises qLong within the window', () => {
    const ft = new FortuneTeller({ ...base, aggregationRule: 'off' });
    let { t, key } = warm(ft, 200, 20);
    const before = ft.predict(t).qLongMs;
    // the link drops to 2.5 Mbit/s: one 1250 B packet every 4 ms, arrivals keep the queue at 20
    let dep = key - 20;
    for (let i = 0; i < 100; i++) {
      t += 4000;
      ft.onArrival(t, 1250, key++);
      ft.onDeparture(t + 1, 1250, dep++);
    }
    const after = ft.predict(t + 2).qLongMs;
    expect(before).toBeGreaterThan(15);
    expect(before).toBeLessThan(25);
    expect(after).toBeGreaterThan(3 * before);
  });

  it('qShort is 0 and qLong small when the queue is empty', () => {
    const ft = new FortuneTeller(base);
    const { t, key } = warm(ft, 100, 0);
    ft.onDeparture(t + 5, 1250, key - 1); // no-op match attempt (already gone)
    const p = ft.predict(t + 100_000);
    expect(p.qShortMs).toBe(0);
    expect(p.qLongMs).toBe(0);
  });

  it.each([
    { rule: 'not-shrinking' as const, growing: true, zero: true },
    { rule: 'not-shrinking' as const, growing: false, zero: false },
    { rule: 'not-growing' as const, growing: true, zero: false },
    { rule: 'off' as const, growing: true, zero: false },
  ])('small-queue aggregation rule $rule (growing $growing) -> qLong 0: $zero', ({ rule, growing, zero }) => {
    const ft = new FortuneTeller({ ...base, aggregationRule: rule, burstIntervalUs: 1 });
    const { t, key } = warm(ft, 100, 4); // 4 packets standing = 4 ms of data at 10 Mbit/s
    ft.predict(t + 10);
    if (growing) ft.onArrival(t + 20, 1250, key);
    else ft.onDeparture(t + 20, 1250, key - 4);
    const p = ft.predict(t + 30);
    expect(p.qLongMs === 0).toBe(zero);
  });

  it('returns the same reusable object (overwritten by the next call) or fills the caller one', () => {
    const ft = new FortuneTeller(base);
    const a = ft.predict(0);
    const b = ft.predict(1);
    expect(a).toBe(b);
    const mine = newPrediction();
    expect(ft.predict(2, 0, mine)).toBe(mine);
  });

  it('aggregate-aware qShort: residual of the current transmission, then overdue time', () => {
    const ft = new FortuneTeller({ ...base, mode: 'aggregate-aware' });
    const { t } = warm(ft, 200, 20);
    // before the current transmission's expected end: the residual; after it: the overdue time,
    // growing 1:1 with the stall
    const q0 = ft.predict(t + 10).qShortMs;
    expect(q0).toBeGreaterThan(0.5);
    expect(q0).toBeLessThan(1.5);
    const q1 = ft.predict(t + 3010).qShortMs;
    const q2 = ft.predict(t + 5010).qShortMs;
    expect(q1).toBeGreaterThan(1.5);
    expect(q2 - q1).toBeCloseTo(2, 1); // the rate falls during the stall: the expected end moves a little
  });
});

describe('FortuneTeller on random event streams (property)', () => {
  it('predictions are finite and non-negative whatever the event order', () => {
    const ev = fc.record({
      kind: fc.integer({ min: 0, max: 4 }),
      dt: fc.integer({ min: 0, max: 5000 }),
      b: fc.integer({ min: 0, max: 1500 }),
      key: fc.integer({ min: 0, max: 30 }),
    });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 200 }), fc.constantFrom('reference', 'aggregate-aware'), (evs, mode) => {
        const ft = new FortuneTeller({ ...base, mode, windowSlots: 10, queueCapacity: 32 });
        let t = 0;
        for (const e of evs) {
          t += e.dt;
          if (e.kind === 0) ft.onArrival(t, e.b, e.key);
          else if (e.kind === 1) ft.onDeparture(t, e.b, e.key);
          else if (e.kind === 2) ft.onDrop(t, e.b, e.key);
          else if (e.kind === 3) ft.onBacklogSample(t, e.b * 4, e.key);
          const p = ft.predict(t, e.b);
          for (const v of [p.qLongMs, p.qShortMs, p.txMs, p.totalMs]) {
            expect(Number.isFinite(v)).toBe(true);
            expect(v).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
