/** The daemon's one owner of held uplink packets: timed holds and per-flow gated FIFOs, one release path, one shutdown path. */
import { describe, expect, it } from 'vitest';
import { UplinkHold } from '../../src/daemon/uplink-hold.js';
import type { TimerApi } from '../../src/daemon/hold-queue.js';

function manualTimers(): TimerApi & { fire(nowUs: number): void } {
  let nowUs = 0;
  let fn: (() => void) | undefined;
  return {
    now: () => nowUs,
    setTimeout: (f: () => void) => {
      fn = f;
      return 1;
    },
    clearTimeout: () => {
      fn = undefined;
    },
    fire(t: number) {
      nowUs = t;
      const f = fn;
      fn = undefined;
      f?.();
    },
  };
}

describe('UplinkHold', () => {
  it('releases timed packets at their time (timed = true) and gated ones oldest first per flow when named', () => {
    const timers = manualTimers();
    const out: Array<[number, string | undefined, boolean]> = [];
    let batches = 0;
    const h = new UplinkHold<number, string>(timers, (id, flow, timed) => out.push([id, flow, timed]), () => batches++);
    h.hold(1, 'a', 2000);
    h.gate(10, 'b');
    h.gate(11, 'b');
    h.gate(20, 'c');
    expect(h.size).toBe(4);
    h.releaseGated('b');
    h.releaseGated('c');
    h.releaseGated('c'); // nothing left of c: ignored
    expect(out).toEqual([
      [10, 'b', false],
      [20, 'c', false],
    ]);
    timers.fire(2000);
    expect(out[2]).toEqual([1, 'a', true]);
    expect(batches).toBe(1);
    expect(h.size).toBe(1);
  });

  it('drain() releases everything once: timed in time order, then each flow in order', () => {
    const timers = manualTimers();
    const out: number[] = [];
    const h = new UplinkHold<number, string>(timers, (id) => out.push(id), () => {});
    h.hold(2, undefined, 5000);
    h.hold(1, 'a', 1000);
    h.gate(10, 'b');
    h.gate(11, 'b');
    expect(h.drain()).toBe(4);
    expect(out).toEqual([1, 2, 10, 11]);
    expect(h.size).toBe(0);
    expect(h.drain()).toBe(0);
  });

  it('says how late each timed release was (the hold-time error), 0 for gated ones', () => {
    const timers = manualTimers();
    const late: Array<[number, boolean, number]> = [];
    const h = new UplinkHold<number, string>(timers, (id, _flow, timed, lateUs) => late.push([id, timed, lateUs]), () => undefined);
    h.hold(1, 'a', 2000);
    h.hold(2, 'a', 2300);
    h.gate(3, 'b');
    timers.fire(2600);
    h.releaseGated('b');
    expect(late).toEqual([
      [1, true, 600],
      [2, true, 300],
      [3, false, 0],
    ]);
  });
});
