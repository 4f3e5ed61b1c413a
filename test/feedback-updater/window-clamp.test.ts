/**
 * The receive-window clamp (feedbackUpdater.mode 'window'): RTT from timestamp echoes, the
 * handshake's window scale, the clamp arithmetic, the weighted count of active flows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActiveShare, SynScales, WindowClamp, type FlowShare } from '../../src/feedback-updater/index.js';

describe('WindowClamp: RTT from TCP timestamps (first echo only)', () => {
  it('takes the time from a new TSval going up to its first echo coming down', () => {
    const c = new WindowClamp();
    c.onUplinkTsVal(1_000, 100);
    c.onUplinkTsVal(1_500, 100); // same TSval: not new, the first sighting counts
    expect(c.onDownlinkTsEcr(41_000, 100)).toBe(40_000);
    expect(c.baseRttUs).toBe(40_000);
    // a second echo of the same TSval (delayed ACK, retransmission) is no sample
    expect(c.onDownlinkTsEcr(90_000, 100)).toBe(-1);
    expect(c.rttSamples).toBe(1);
  });

  it('matches an older remembered TSval and forgets it and everything older', () => {
    const c = new WindowClamp();
    for (let i = 0; i < 5; i++) c.onUplinkTsVal(i * 1000, 10 + i);
    expect(c.onDownlinkTsEcr(50_000, 12)).toBe(48_000);
    expect(c.onDownlinkTsEcr(51_000, 11)).toBe(-1); // older than a matched one
    expect(c.onDownlinkTsEcr(52_000, 14)).toBe(48_000);
  });

  it('keeps the minimum for rttWindowMs, then takes the next sample', () => {
    const c = new WindowClamp({ rttWindowMs: 100 });
    const table = [
      { up: 0, down: 40_000, want: 40_000 },
      { up: 50_000, down: 110_000, want: 40_000 }, // 60 ms, larger: the minimum stays
      { up: 120_000, down: 150_000, want: 30_000 }, // smaller: taken
      { up: 200_000, down: 260_000, want: 60_000 }, // 60 ms, 110 ms after the minimum was taken (> 100): it expires
    ];
    let ts = 1;
    const got: number[] = [];
    for (const r of table) {
      c.onUplinkTsVal(r.up, ts);
      c.onDownlinkTsEcr(r.down, ts);
      got.push(c.baseRttUs);
      ts++;
    }
    expect(got).toEqual([40_000, 40_000, 30_000, 60_000]);
  });

  it('remembers at most 8 TSvals: an echo of a forgotten one is no sample', () => {
    const c = new WindowClamp();
    for (let i = 0; i < 9; i++) c.onUplinkTsVal(i, i + 1);
    expect(c.onDownlinkTsEcr(100, 1)).toBe(-1);
    expect(c.onDownlinkTsEcr(100, 2)).toBe(99);
  });

  it('never reports a negative or non-finite RTT on random event streams (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1000 })), { maxLength: 200 }),
        (events) => {
          const c = new WindowClamp();
          let t = 0;
          for (const [up, ts, dt] of events) {
            t += dt;
            if (up) c.onUplinkTsVal(t, ts);
            else {
              const r = c.onDownlinkTsEcr(t, ts);
              expect(r === -1 || (r >= 0 && Number.isFinite(r))).toBe(true);
            }
          }
          expect(c.baseRttUs === -1 || c.baseRttUs >= 0).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('WindowClamp: handshake RTT (clients without timestamps)', () => {
  it('client SYN-ACK up, the sender\'s next segment down: one sample', () => {
    const c = new WindowClamp();
    c.onClientSynAckUp(1_000);
    c.onDownlinkArrival(31_000);
    expect(c.baseRttUs).toBe(30_000);
    c.onDownlinkArrival(90_000); // no pending handshake: nothing
    expect(c.rttSamples).toBe(1);
  });

  it('a handshake sample stays without later samples; timestamp samples take over when smaller', () => {
    const c = new WindowClamp({ rttWindowMs: 100 });
    c.addRttSample(10_000, 50_000);
    expect(c.baseRttUs).toBe(50_000);
    c.onUplinkTsVal(20_000_000, 7); // long after: the window expired, the next sample replaces it
    c.onDownlinkTsEcr(20_060_000, 7);
    expect(c.baseRttUs).toBe(60_000);
    c.addRttSample(20_070_000, -5); // a negative sample (clock trouble) is ignored
    expect(c.baseRttUs).toBe(60_000);
  });
});

describe('WindowClamp.clampField', () => {
  function ready(shift: number, rttUs: number): WindowClamp {
    const c = new WindowClamp();
    c.setWindowShift(shift);
    c.onUplinkTsVal(0, 1);
    c.onDownlinkTsEcr(rttUs, 1);
    return c;
  }
  // 3 Mbit/s = 375 000 B/s; RTT 40 ms + target 50 ms = 90 ms -> 33 750 B
  it.each([
    { what: 'shift 7: ceil(33750 / 128)', shift: 7, field: 5000, rateBps: 3e6, want: 264 },
    { what: 'shift 0', shift: 0, field: 65535, rateBps: 3e6, want: 33750 },
    { what: 'never above the receiver\'s window', shift: 7, field: 100, rateBps: 3e6, want: 100 },
    { what: 'a fast link: the receiver\'s window stays', shift: 7, field: 5000, rateBps: 1e9, want: 5000 },
    { what: 'the floor: 6000 B at shift 7', shift: 7, field: 5000, rateBps: 1e3, want: 47 },
  ])('$what', ({ shift, field, rateBps, want }) => {
    expect(ready(shift, 40_000).clampField(field, rateBps / 8, 50, 6000)).toBe(want);
  });

  it('leaves an ACK alone without the window scale or an RTT', () => {
    const noScale = new WindowClamp();
    noScale.onUplinkTsVal(0, 1);
    noScale.onDownlinkTsEcr(40_000, 1);
    expect(noScale.clampField(5000, 375_000, 50, 6000)).toBe('no-scale');
    const noRtt = new WindowClamp();
    noRtt.setWindowShift(7);
    expect(noRtt.clampField(5000, 375_000, 50, 6000)).toBe('no-rtt');
  });

  it('allows at least min(receiver, floor) and never more than the receiver (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.integer({ min: 0, max: 2_000_000 }),
        (shift, field, share, rttUs) => {
          const r = ready(shift, rttUs).clampField(field, share, 50, 6000);
          expect(typeof r).toBe('number');
          const f = r as number;
          expect(f).toBeLessThanOrEqual(field);
          expect(f * 2 ** shift).toBeGreaterThanOrEqual(Math.min(field * 2 ** shift, 6000));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('SynScales (RFC 7323 2.2)', () => {
  it.each([
    { what: 'client SYN-ACK with shift 7', steps: [['client', true, 7]], want: 7 },
    { what: 'client SYN-ACK without the option', steps: [['client', true, -1]], want: 0 },
    { what: 'client SYN without the option', steps: [['client', false, -1]], want: 0 },
    { what: 'client SYN 7, sender SYN-ACK with', steps: [['client', false, 7], ['sender', true, 1]], want: 7 },
    { what: 'client SYN 7, sender SYN-ACK without: no scaling', steps: [['client', false, 7], ['sender', true, -1]], want: 0 },
    { what: 'client SYN 7, no sender SYN-ACK yet: unknown', steps: [['client', false, 7]], want: -1 },
    { what: 'a sender SYN alone says nothing', steps: [['sender', false, 1]], want: -1 },
    { what: 'a retransmitted client SYN-ACK replaces', steps: [['client', true, 7], ['client', true, 9]], want: 9 },
  ] as Array<{ what: string; steps: Array<[string, boolean, number]>; want: number }>)('$what', ({ steps, want }) => {
    const s = new SynScales();
    for (const [who, synAck, ws] of steps) {
      if (who === 'client') s.onClientSyn(42, synAck, ws);
      else s.onSenderSyn(42, synAck, ws >= 0);
    }
    expect(s.take(42)).toBe(want);
    expect(s.take(42)).toBe(-1); // taken once
  });

  it('keeps the client SYN\'s time for the handshake RTT, taken once; a SYN-ACK has none', () => {
    const s = new SynScales();
    s.onClientSyn(1, false, 7, 5_000);
    s.onClientSyn(2, true, 7, 6_000);
    expect(s.takeSynTime(1)).toBe(5_000);
    expect(s.takeSynTime(1)).toBe(-1);
    expect(s.takeSynTime(2)).toBe(-1);
  });

  it('keeps at most maxEntries SYN times: the oldest is forgotten', () => {
    const s = new SynScales({ maxEntries: 3 });
    for (let h = 1; h <= 4; h++) s.onClientSyn(h, false, 7, h * 1000);
    expect(s.takeSynTime(1)).toBe(-1);
    expect(s.takeSynTime(2)).toBe(2000);
    expect(s.takeSynTime(4)).toBe(4000);
  });

  it('is bounded: the oldest handshake is forgotten', () => {
    const s = new SynScales({ maxEntries: 3 });
    for (let h = 1; h <= 4; h++) s.onClientSyn(h, true, h);
    expect(s.size).toBe(3);
    expect(s.take(1)).toBe(-1);
    expect(s.take(4)).toBe(4);
  });
});

describe('ActiveShare: weighted count of sending flows', () => {
  const flow = (): FlowShare => ({ shareEpoch: -1, shareBytes: 0 });
  it.each([
    { what: 'one flow', bytes: [[1000]], want: 1 },
    { what: 'two equal flows', bytes: [[1000, 1000]], want: 2 },
    { what: 'a bulk flow and a light one (16 + 4)', bytes: [[16_000, 4_000]], want: 1.25 },
    { what: 'three equal', bytes: [[500, 500, 500]], want: 3 },
  ])('$what', ({ bytes, want }) => {
    const a = new ActiveShare(200);
    const flows = (bytes[0] ?? []).map(() => flow());
    // epoch 0: the flows send; epoch 1: the count is epoch 0's
    (bytes[0] ?? []).forEach((b, i) => a.add(1000 + i, flows[i]!, b));
    expect(a.flows(250_000)).toBeCloseTo(want, 9);
  });

  it('forgets flows that stopped: after an empty epoch the count starts over', () => {
    const a = new ActiveShare(200);
    const f1 = flow();
    const f2 = flow();
    a.add(0, f1, 1000);
    a.add(1, f2, 1000);
    expect(a.flows(210_000)).toBe(2);
    a.add(610_000, f1, 1000); // two epochs later: only f1
    expect(a.flows(610_001)).toBe(1);
    expect(a.flows(810_000)).toBe(1);
  });
});
