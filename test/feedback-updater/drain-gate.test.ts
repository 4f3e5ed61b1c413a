import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DrainGate } from '../../src/feedback-updater/drain-gate.js';
import type { AckDelayerConfig } from '../../src/feedback-updater/ack-delayer.js';
import { DrainPolicy, zeroDrainCounters } from '../../src/feedback-updater/drain-policy.js';
import { seededRng } from '../../src/feedback-updater/rng.js';
import { UplinkPolicyModes } from '../../src/feedback-updater/uplink-policy-modes.js';
import { zeroWindowCounters } from '../../src/feedback-updater/window-policy.js';

const MS = 1000;
const RATE = 3e6; // bit/s: 375 bytes per ms

describe('DrainGate (feedbackUpdater.mode drain)', () => {
  const passCases: Array<{ name: string; queueMs: number; gated: number; pass: boolean }> = [
    { name: 'queue below target, nothing gated: passes', queueMs: 10, gated: 0, pass: true },
    { name: 'queue exactly at target: passes', queueMs: 50, gated: 0, pass: true },
    { name: 'queue above target but not above closeMs (2 x target): passes', queueMs: 100, gated: 0, pass: true },
    { name: 'queue above closeMs: gated', queueMs: 101, gated: 0, pass: false },
    { name: 'an earlier packet gated: gated (order)', queueMs: 0, gated: 1, pass: false },
  ];
  for (const c of passCases) {
    it(c.name, () => {
      const g = new DrainGate<number>({ targetMs: 50 });
      for (let k = 0; k < c.gated; k++) g.push(0, k, 1500);
      expect(g.tryPass(1 * MS, c.queueMs)).toBe(c.pass);
    });
  }

  it('pacing: a gated backlog leaves at most (1 + catchUp) x the dequeue rate beyond a small burst', () => {
    const g = new DrainGate<number>({ targetMs: 50, catchUp: 0 });
    for (let k = 0; k < 4; k++) g.push(0, k, 3000);
    const out: number[] = [];
    // 3000 bytes of burst credit: two go (a packet goes while the credit is not negative)
    expect(g.poll(1 * MS, 10, RATE, (i) => out.push(i))).toBe(2);
    // -3000 + 375 per ms: back to 0 at 9 ms
    expect(g.poll(8 * MS, 10, RATE, (i) => out.push(i))).toBe(0);
    expect(g.poll(9 * MS, 10, RATE, (i) => out.push(i))).toBe(1);
    expect(out).toEqual([0, 1, 2]);
  });

  it('a 1 ms poll keeps up with a fast link (the credit cap scales with the rate)', () => {
    const g = new DrainGate<number>({ targetMs: 50, catchUp: 0.1 });
    for (let k = 0; k < 1000; k++) g.push(0, k, 2896); // 2.9 MB of ACKed data
    let t = 0;
    while (g.size > 0 && t < 1000) g.poll(++t * MS, 10, 500e6, () => undefined);
    // paced at 1.1 x 500 Mbit/s = 68.75 KB/ms: ~42 ms, not the ~1 s a fixed 3000-byte cap allowed
    expect(t).toBeGreaterThan(38);
    expect(t).toBeLessThan(46);
  });

  it('an open gate never paces: ACK bursts pass at once', () => {
    const g = new DrainGate<number>({ targetMs: 50, catchUp: 0 });
    for (let k = 0; k < 100; k++) expect(g.tryPass(k, 10)).toBe(true);
  });

  it('poll: closed while the queue is above target, in order once it is back', () => {
    const g = new DrainGate<string>({ targetMs: 50, keepaliveMs: 0 });
    g.push(0, 'a', 1500);
    g.push(1 * MS, 'b', 1500);
    const out: string[] = [];
    expect(g.poll(100 * MS, 300, RATE, (i) => out.push(i))).toBe(0);
    expect(g.poll(200 * MS, 40, RATE, (i) => out.push(i))).toBe(2);
    expect(out).toEqual(['a', 'b']);
    expect(g.size).toBe(0);
  });

  it('maxHoldMs: a packet leaves after it whatever the queue, with its arrival time', () => {
    const g = new DrainGate<string>({ targetMs: 50, maxHoldMs: 1000, keepaliveMs: 0 });
    g.push(0, 'a', 1500);
    g.push(500 * MS, 'b', 1500);
    const out: Array<[string, number]> = [];
    expect(g.poll(999 * MS, 900, RATE, (i, t) => out.push([i, t]))).toBe(0);
    expect(g.poll(1000 * MS, 900, RATE, (i, t) => out.push([i, t]))).toBe(1);
    expect(out).toEqual([['a', 0]]);
    expect(g.releasedByCap).toBe(1);
    expect(g.oldestTUs).toBe(500 * MS);
  });

  it('keepalive: a closed gate lets one packet go when the flow had nothing out for keepaliveMs', () => {
    const g = new DrainGate<number>({ targetMs: 50, keepaliveMs: 100 });
    expect(g.tryPass(0, 10)).toBe(true); // last out at 0
    for (let k = 0; k < 5; k++) g.push(10 * MS + k, k, 1500);
    const out: number[] = [];
    const poll = (tMs: number): number => g.poll(tMs * MS, 900, RATE, (i) => out.push(i));
    expect(poll(99)).toBe(0);
    expect(poll(100)).toBe(0); // the head has waited 90 ms only
    expect(poll(110)).toBe(1); // one, not the backlog
    expect(poll(150)).toBe(0);
    expect(poll(210)).toBe(1);
    expect(out).toEqual([0, 1]);
  });

  it('an idle link (empty queue) gets the gated ACKs back twice as fast', () => {
    const drain = (queueMs: number): number => {
      const g = new DrainGate<number>({ targetMs: 50, catchUp: 0 });
      g.push(0, -1, 3000); // spends the burst credit
      for (let k = 0; k < 100; k++) g.push(0, k, 1500);
      let released = 0;
      g.poll(0, 20, RATE, () => undefined); // the link was busy at 3 Mbit/s
      for (let t = 1; t <= 100; t++) released += g.poll(t * MS, queueMs, RATE, () => undefined);
      return released;
    };
    // 100 ms at 375 B/ms = 37.5 KB = 25 ACKs of 1500 B (+1: a packet goes while the credit is
    // not negative); idle: 2 x (the dequeue rate the link had while busy)
    const busy = drain(20);
    const idle = drain(0);
    expect(busy).toBeGreaterThanOrEqual(24);
    expect(busy).toBeLessThanOrEqual(26);
    expect(idle).toBeGreaterThanOrEqual(2 * busy - 2);
    expect(idle).toBeLessThanOrEqual(2 * busy + 2);
  });

  it('flush: everything out in order', () => {
    const g = new DrainGate<number>();
    for (let k = 0; k < 20; k++) g.push(k, k, 100); // grows past the initial ring
    const out: number[] = [];
    expect(g.flush((i) => out.push(i))).toBe(20);
    expect(out).toEqual([...Array(20).keys()]);
    expect(g.size).toBe(0);
  });

  it('rejects out-of-range parameters', () => {
    expect(() => new DrainGate({ targetMs: -1 })).toThrow(RangeError);
    expect(() => new DrainGate({ maxHoldMs: Number.NaN })).toThrow(RangeError);
    expect(() => new DrainGate({ catchUp: 5 })).toThrow(RangeError);
    expect(() => new DrainGate({ targetMs: 50, closeMs: 40 })).toThrow(RangeError);
  });

  it('property: FIFO order, nothing lost, nothing held past maxHoldMs (polled every ms)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4000 }), fc.double({ min: 0, max: 500, noNaN: true })), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 300 }),
        (steps, targetMs, maxHoldMs) => {
          const g = new DrainGate<number>({ targetMs, maxHoldMs });
          const out: number[] = [];
          let id = 0;
          let tMs = 0;
          for (const [dtMs, acked, qMs] of steps) {
            for (let k = 0; k < dtMs; k++) {
              tMs++;
              g.poll(tMs * MS, qMs, RATE, (i, arr) => {
                expect(tMs * MS - arr).toBeLessThanOrEqual(maxHoldMs * MS);
                out.push(i);
              });
            }
            if (g.tryPass(tMs * MS, qMs)) out.push(id);
            else g.push(tMs * MS, id, acked);
            id++;
          }
          g.flush((i) => out.push(i));
          expect(out).toEqual([...Array(id).keys()]);
        },
      ),
    );
  });

  it('mode drain builds a gate per flow, the other modes none', () => {
    const modes = (config: AckDelayerConfig): UplinkPolicyModes => new UplinkPolicyModes(config, seededRng(1), { ...zeroDrainCounters(), ...zeroWindowCounters() });
    const drain = modes({ mode: 'drain', drain: { targetMs: 20 } }).current.newFlow(0, 1, true);
    expect(drain instanceof DrainPolicy ? drain.gate.targetMs : undefined).toBe(20);
    expect(modes({}).current.newFlow(0, 1, true).kind).toBe('increments');
    const d = modes({ mode: 'drain' }).current.newFlow(0, 1, true);
    if (d instanceof DrainPolicy) d.gate.push(0, null, 0);
    // a flow with a gated packet is busy: the engine keeps it in its table
    expect(d.gated).toBe(1);
  });
});

/**
 * A window-limited sender (a fixed window, as bbr's 2 x BDP or cubic's between losses) through a
 * FIFO at the AP, 20 ms each way to the sender, right after the link dropped to 3 Mbit/s with the
 * window already in the queue. Packets of 1500 B, 1 ms steps; the client ACKs every packet.
 */
function simulate(gate: DrainGate<number> | undefined): { queueP50Ms: number; queueP95After2sMs: number; delivered: number } {
  const pktMs = 4; // 1500 B at 3 Mbit/s
  const oneWayMs = 20;
  const windowPkts = 200; // 2 x BDP at 30 Mbit/s x 40 ms
  let queue = windowPkts - 10;
  let inflight = windowPkts;
  const toAp: number[] = [];
  const acksToSender: number[] = [];
  const samples: number[] = [];
  let nextDepart = 0;
  let delivered = 0;
  for (let t = 0; t < 10_000; t++) {
    while (toAp.length > 0 && (toAp[0] ?? Infinity) <= t) {
      toAp.shift();
      queue++;
    }
    const qMs = queue * pktMs;
    gate?.poll(t * MS, qMs, RATE, () => acksToSender.push(t + oneWayMs));
    if (queue > 0 && t >= nextDepart) {
      queue--;
      delivered++;
      nextDepart = t + pktMs;
      if (gate === undefined || gate.tryPass(t * MS, queue * pktMs)) acksToSender.push(t + oneWayMs);
      else gate.push(t * MS, delivered, 1500);
    }
    while (acksToSender.length > 0 && (acksToSender[0] ?? Infinity) <= t) {
      acksToSender.shift();
      inflight--;
    }
    while (inflight < windowPkts) {
      inflight++;
      toAp.push(t + oneWayMs);
    }
    if (t >= 2000) samples.push(queue * pktMs);
  }
  samples.sort((a, b) => a - b);
  return {
    queueP50Ms: samples[Math.floor(samples.length / 2)] ?? Number.NaN,
    queueP95After2sMs: samples[Math.floor(samples.length * 0.95)] ?? Number.NaN,
    delivered,
  };
}

describe('DrainGate against a window-limited sender (fluid model)', () => {
  it('moves the excess window out of the queue without idling the link', () => {
    const without = simulate(undefined);
    const withGate = simulate(new DrainGate<number>({ targetMs: 50, maxHoldMs: 2000 }));
    expect(without.queueP50Ms).toBeGreaterThan(600); // the whole window queued
    expect(withGate.queueP50Ms).toBeLessThanOrEqual(60);
    expect(withGate.queueP95After2sMs).toBeLessThanOrEqual(80);
    expect(withGate.delivered).toBeGreaterThan(0.99 * without.delivered);
  });

  it('a maxHoldMs shorter than the excess leaves the rest in the queue', () => {
    const withGate = simulate(new DrainGate<number>({ targetMs: 50, maxHoldMs: 200 }));
    expect(withGate.queueP50Ms).toBeGreaterThan(400);
  });
});
