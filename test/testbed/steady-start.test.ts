import { describe, expect, it } from 'vitest';
import { SteadyWatch, STEADY_START_DEFAULTS, steadyCallDurationS } from '../../testbed/webrtc/steady-start.js';

const S = { ...STEADY_START_DEFAULTS, capBps: 1e6 };

/** a watch fed a sender sample every 100 ms from the connection at 0, at rate(t) */
function feed(rate: (tMs: number) => number, untilMs: number): { w: SteadyWatch; at: number; verdict: string } {
  const w = new SteadyWatch(S);
  w.connected(0);
  for (let t = 100; t <= untilMs; t += 100) {
    w.add(t, rate(t));
    const d = w.decide(t);
    if (d !== 'wait') return { w, at: t, verdict: d };
  }
  return { w, at: -1, verdict: 'wait' };
}

describe('SteadyWatch', () => {
  it.each([
    // the call's sent rate, when the drop comes (ms), steady?
    ['at the cap from the start', () => 1e6, 10_000, 'steady'],
    // the mean over the last 3 s reaches 0.85 of the cap once 70 % of the window is at it
    ['ramping, at the cap from 12 s', (t: number) => (t < 12_000 ? 0.5e6 : 1e6), 14_100, 'steady'],
    ['never above 0.8 of the cap', () => 0.8e6, 30_000, 'timeout'],
    ['at 0.9 of the cap (counts as holding)', () => 0.9e6, 10_000, 'steady'],
  ])('%s', (_name, rate, at, verdict) => {
    const r = feed(rate, 40_000);
    expect(r.verdict).toBe(verdict);
    expect(r.at).toBe(at);
  });

  it('needs the whole hold window covered by samples', () => {
    const w = new SteadyWatch(S);
    w.connected(0);
    w.add(11_900, 1e6); // one sample only
    expect(w.decide(12_000)).toBe('wait');
  });

  it('leaves room for the longest wait and the window after the drop', () => {
    expect(steadyCallDurationS(S)).toBe(S.earliestS + S.maxWaitS + S.afterS);
  });
});
