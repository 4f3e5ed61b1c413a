import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DrainHold } from '../../src/feedback-updater/drain-hold.js';
import { seededRng } from '../../src/feedback-updater/rng.js';
import { AckDelayer } from '../../src/feedback-updater/scheduler.js';

const MS = 1000;

describe('DrainHold (mode drain)', () => {
  // each row: (arrival ms, queue ms) per ACK -> the hold of the last ACK (ms), with
  // targetMs 50, loopMs 100, gain 0.5, catchUp 0.25, maxHoldMs 1000
  const cases: Array<{ name: string; acks: Array<[number, number]>; holdMs: number }> = [
    { name: 'first ACK of a flow: at once', acks: [[0, 900]], holdMs: 0 },
    { name: 'queue at target: nothing held', acks: [[0, 50], [8, 50]], holdMs: 0 },
    // spacing 8 x (1 + 0.5 x 300 / (0 + 100)) = 20: hold 12
    { name: 'above target: spacing stretched by the error over the loop', acks: [[0, 350], [8, 350]], holdMs: 12 },
    // then 8 x (1 + 0.5 x 300 / (12 + 100)) = 18.71: hold 12 + 10.71
    { name: 'the gain shrinks as the hold (the loop) grows', acks: [[0, 350], [8, 350], [16, 350]], holdMs: 12 + 8 * (0.5 * 300) / 112 },
    // hold 12, then at target: spacing kept, hold kept
    { name: 'at target: hold kept', acks: [[0, 350], [8, 350], [16, 50]], holdMs: 12 },
    // hold 12, then an empty queue: spacing 8 x (1 - 0.5 x 50 / 112)
    { name: 'below target: the hold is given back', acks: [[0, 350], [8, 350], [16, 0]], holdMs: 12 + (8 * (0.5 * -50)) / 112 },
    { name: 'huge error: capped at maxHoldMs', acks: [[0, 0], [500, 1e9]], holdMs: 1000 },
    { name: 'after an idle gap (> 2 s) the flow starts afresh', acks: [[0, 350], [8, 350], [3000, 900]], holdMs: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = new DrainHold({ targetMs: 50, maxHoldMs: 1000, catchUp: 0.25, loopMs: 100, gain: 0.5 });
      let hold = Number.NaN;
      for (const [tMs, qMs] of c.acks) hold = d.schedule(tMs * MS, qMs).addedDelayUs / MS;
      expect(hold).toBeCloseTo(c.holdMs, 6);
    });
  }

  it('below target the hold shrinks at most catchUp x the arrival gap', () => {
    const d = new DrainHold({ targetMs: 50, catchUp: 0.25, loopMs: 1, gain: 2 });
    d.schedule(0, 50);
    const held = d.schedule(1 * MS, 60).addedDelayUs; // 1 ms x (1 + 2 x 10 / 1) = 21 ms: hold 20 ms
    expect(held).toBeCloseTo(20 * MS, 3);
    // 1 + 2 x (-50) / (20 + 1) < 0.75: floored, spacing 0.75 x 8 ms, the hold shrinks by 2 ms
    expect(d.schedule(9 * MS, 0).addedDelayUs).toBeCloseTo(18 * MS, 3);
  });

  it('rejects out-of-range parameters', () => {
    expect(() => new DrainHold({ targetMs: -1 })).toThrow(RangeError);
    expect(() => new DrainHold({ maxHoldMs: Number.NaN })).toThrow(RangeError);
    expect(() => new DrainHold({ catchUp: 0.95 })).toThrow(RangeError);
    expect(() => new DrainHold({ loopMs: 0 })).toThrow(RangeError);
    expect(() => new DrainHold({ gain: 3 })).toThrow(RangeError);
  });

  it('SYN/FIN/RST pass at once but never ahead of a held ACK', () => {
    const d = new DrainHold();
    d.schedule(0, 250);
    const r = d.schedule(8 * MS, 250).releaseTUs;
    expect(r).toBeGreaterThan(8 * MS);
    expect(d.passThrough(9 * MS)).toBe(r);
    expect(d.passThrough(400 * MS)).toBe(400 * MS);
  });

  it('property: releases in order, never before arrival, hold <= maxHoldMs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50_000 }), fc.double({ min: 0, max: 3000, noNaN: true })), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 1500 }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        (steps, targetMs, maxHoldMs, catchUp) => {
          const d = new DrainHold({ targetMs, maxHoldMs, catchUp });
          let t = 0;
          let last = -Infinity;
          for (const [gapUs, qMs] of steps) {
            t += gapUs;
            const r = d.schedule(t, qMs);
            expect(r.releaseTUs).toBeGreaterThanOrEqual(t);
            expect(r.releaseTUs).toBeGreaterThanOrEqual(last);
            expect(r.addedDelayUs).toBeLessThanOrEqual(maxHoldMs * MS + 1e-6);
            last = r.releaseTUs;
          }
        },
      ),
    );
  });

  it('AckDelayer in drain mode uses the queue, not the increments', () => {
    const fu = new AckDelayer({ mode: 'drain', drain: { targetMs: 20 } });
    const rng = seededRng(3);
    fu.onPrediction(0, 5);
    fu.onPrediction(1000, 500); // a huge increment: the reference rule would hold up to capMs
    expect(fu.onUplink(2000, rng, 10)).toBe(2000); // first ACK: at once
    expect(fu.onUplink(3000, rng, 10)).toBe(3000); // queue below target: at once
    // 1 ms x (1 + 0.5 x 100 / 100) = 1.5 ms after the previous release
    expect(fu.onUplink(4000, rng, 120)).toBe(4500);
    expect(fu.isIdle(4000)).toBe(false);
    expect(fu.isIdle(4500)).toBe(true);
  });
});

/**
 * A window-limited sender (fixed window, as bbr's 2 x BDP or cubic's cwnd between losses)
 * through a FIFO at the AP, after the link rate drops 10x. Fluid in packets, 1 ms steps.
 * Without the hold the whole excess window sits in the Wi-Fi queue; with it the queue settles
 * near the target and the link never idles (the ACK clock is kept).
 */
function simulate(hold: DrainHold | undefined): { queueP50Ms: number; queueMaxAfter2sMs: number; deliveredPkts: number; maxHoldMs: number } {
  const pktBits = 1500 * 8;
  const rateBps = 3e6;
  const pktMs = (pktBits / rateBps) * 1000; // 4 ms per packet after the drop
  const oneWayMs = 20;
  const windowPkts = 200; // 2 x BDP at 30 Mbit/s x 40 ms
  let queue = windowPkts - 10; // the window mostly queued right after the drop
  let inflight = windowPkts;
  const toAp: number[] = []; // arrival times at the AP of data sent by the sender
  const acksToSender: number[] = []; // times ACKs reach the sender
  const queueSamples: number[] = [];
  let nextDepartMs = 0;
  let delivered = 0;
  let maxHold = 0;
  for (let t = 0; t < 10_000; t++) {
    while (toAp.length > 0 && (toAp[0] ?? Infinity) <= t) {
      toAp.shift();
      queue++;
    }
    if (queue > 0 && t >= nextDepartMs) {
      queue--;
      delivered++;
      nextDepartMs = t + pktMs;
      // the client ACKs at once; the ACK reaches the AP immediately (Wi-Fi hop ~0)
      const qMs = queue * pktMs;
      const release = hold === undefined ? t * MS : hold.schedule(t * MS, qMs).releaseTUs;
      maxHold = Math.max(maxHold, release / MS - t);
      acksToSender.push(release / MS + oneWayMs);
    }
    acksToSender.sort((a, b) => a - b);
    while (acksToSender.length > 0 && (acksToSender[0] ?? Infinity) <= t) {
      acksToSender.shift();
      inflight--;
    }
    while (inflight < windowPkts) {
      inflight++;
      toAp.push(t + oneWayMs);
    }
    if (t >= 2000) queueSamples.push(queue * pktMs);
  }
  queueSamples.sort((a, b) => a - b);
  return {
    queueP50Ms: queueSamples[Math.floor(queueSamples.length / 2)] ?? Number.NaN,
    queueMaxAfter2sMs: queueSamples[queueSamples.length - 1] ?? Number.NaN,
    deliveredPkts: delivered,
    maxHoldMs: maxHold,
  };
}

describe('DrainHold against a window-limited sender (fluid simulation)', () => {
  it('moves the excess window out of the queue without idling the link', () => {
    const without = simulate(undefined);
    const withHold = simulate(new DrainHold({ targetMs: 50, maxHoldMs: 1000, catchUp: 0.25, loopMs: 100, gain: 0.5 }));
    // without: ~190 packets x 4 ms = ~760 ms of queue for as long as the window stays
    expect(without.queueP50Ms).toBeGreaterThan(600);
    // with: near the target (a packet or two of slack either side)
    expect(withHold.queueP50Ms).toBeLessThan(80);
    expect(withHold.queueMaxAfter2sMs).toBeLessThan(120);
    // the link stayed busy: the same packets delivered within 1 %
    expect(withHold.deliveredPkts).toBeGreaterThan(0.99 * without.deliveredPkts);
    expect(withHold.maxHoldMs).toBeLessThanOrEqual(1000);
    expect(withHold.maxHoldMs).toBeGreaterThan(500);
  });

  it('with a hold cap below the excess, the rest stays in the queue', () => {
    const withHold = simulate(new DrainHold({ targetMs: 50, maxHoldMs: 200, catchUp: 0.25, loopMs: 100, gain: 0.5 }));
    expect(withHold.queueP50Ms).toBeGreaterThan(400);
  });
});
