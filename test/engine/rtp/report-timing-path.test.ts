/** reportTiming 'departure' through the in-band path: what is reported, when, and at what time. */
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';
import { buildRr } from '../../helpers/rtcp-packets.js';
import { buildRtp } from '../../helpers/rtp-packets.js';
import { arrivalsUsFromTwcc, parseTwcc } from '../../../src/protocols/rtcp/index.js';
import { BASE_CFG, twSeqExt, udp6 } from './_helpers.js';

const S = [0x20010db8, 0, 0, 1];
const C = [0x20010db8, 0, 1, 2];
const T0 = 1_000_000;

/** A transport with n RTP packets arriving 1 ms apart (match key 100 + i), RTCP seen. */
function setup(
  n: number,
  predictedMs: (i: number) => number,
  beyondLead: 'defer' | 'clamp' = 'clamp',
  reportSpacing: 'stack' | 'link' = 'stack',
): { fb: RtpFeedback; reported: (tUs: number) => Map<number, number | null> } {
  const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3, reportTiming: 'departure', beyondLead, reportSpacing });
  const v = newPacketView();
  for (let i = 0; i < n; i++) {
    const pkt = udp6(S, 5004, C, 6000, buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: i * 3000, ssrc: 0xabc, extensions: [twSeqExt(i)] }));
    decodePacket(pkt, 'raw-ip', v);
    expect(fb.onDownlink(T0 + i * 1000, v, pkt, predictedMs(i), 100 + i, i)).toBe(true);
    if (i === 0) {
      const rr = udp6(C, 6000, S, 5004, buildRr(0x5150, [{ ssrc: 0xabc }]));
      decodePacket(rr, 'raw-ip', v);
      fb.onUplink(T0, v, rr);
    }
  }
  const reported = (tUs: number): Map<number, number | null> => {
    const out = new Map<number, number | null>();
    for (const p of fb.poll(tUs)) {
      decodePacket(p, 'raw-ip', v);
      const f = parseTwcc(p, v.payloadOffset, v.payloadLength);
      arrivalsUsFromTwcc(f).forEach((a, k) => out.set((f.baseSeq + k) & 0xffff, a));
    }
    return out;
  };
  return { fb, reported };
}

describe("reportTiming 'departure'", () => {
  it('reports observed departures, not the prediction made at arrival', () => {
    const { fb, reported } = setup(3, () => 300); // the Fortune Teller predicted 300 ms each
    fb.queue = { departureUs: () => Number.NaN, horizonUs: () => Number.POSITIVE_INFINITY, rateAgeUs: () => Number.POSITIVE_INFINITY };
    [5, 6, 7].forEach((ms, i) => fb.onDeparture(100 + i, T0 + ms * 1000));
    const r = reported(T0 + 50_000);
    expect([...r.keys()]).toEqual([0, 1, 2]);
    // TWCC carries 250 µs ticks relative to its 64 ms reference: compare the deltas
    expect((r.get(1) ?? 0) - (r.get(0) ?? 0)).toBe(1000);
    expect((r.get(2) ?? 0) - (r.get(1) ?? 0)).toBe(1000);
    expect(fb.status(T0).counters.reportTiming.reportedObserved).toBe(3);
  });

  it('defer: reports a queued packet at its re-prediction once it is within the lead', () => {
    const { fb, reported } = setup(3, () => 0, 'defer');
    // re-predicted from its position: packet k leaves 40 + 20 k ms after the build
    fb.queue = { departureUs: (tUs, pos) => tUs + 40_000 + pos * 20_000, horizonUs: () => Number.POSITIVE_INFINITY, rateAgeUs: () => Number.POSITIVE_INFINITY };
    const r = reported(T0 + 10_000);
    expect([...r.keys()]).toEqual([0]); // 40 ms ahead; 60 and 80 ms wait for a later build
    const c = fb.status(T0).counters.reportTiming;
    expect([c.reportedPredicted, c.reportedClamped, c.deferred]).toEqual([1, 0, 1]);
  });

  it('clamp, spacing stack: reports a queued packet at its re-prediction, no further ahead than the lead', () => {
    const { fb, reported } = setup(3, () => 0, 'clamp', 'stack');
    // re-predicted from its position: packet k leaves 40 + 20 k ms after the build
    fb.queue = { departureUs: (tUs, pos) => tUs + 40_000 + pos * 20_000, horizonUs: () => Number.POSITIVE_INFINITY, rateAgeUs: () => Number.POSITIVE_INFINITY };
    const r = reported(T0 + 10_000);
    expect([...r.keys()]).toEqual([0, 1, 2]);
    // lead at start: 50 ms -> 40 ms, then 50 ms (clamped from 60), then 50 ms (from 80)
    expect((r.get(1) ?? 0) - (r.get(0) ?? 0)).toBe(10_000);
    expect((r.get(2) ?? 0) - (r.get(1) ?? 0)).toBe(0);
    const c = fb.status(T0).counters.reportTiming;
    expect([c.reportedPredicted, c.reportedClamped]).toEqual([1, 2]);
  });

  it('clamp, spacing link: the packets behind one reported at its prediction keep the predicted spacing', () => {
    const { fb, reported } = setup(3, () => 0, 'clamp', 'link');
    fb.queue = { departureUs: (tUs, pos) => tUs + 40_000 + pos * 20_000, horizonUs: () => Number.POSITIVE_INFINITY, rateAgeUs: () => Number.POSITIVE_INFINITY };
    const r = reported(T0 + 10_000);
    // 40 ms (within the 50 ms lead), then 60 and 80 ms: the gap of their predictions, not stacked at 50
    expect((r.get(1) ?? 0) - (r.get(0) ?? 0)).toBe(20_000);
    expect((r.get(2) ?? 0) - (r.get(1) ?? 0)).toBe(20_000);
    const c = fb.status(T0).counters.reportTiming;
    expect([c.reportedPredicted, c.reportedClamped]).toEqual([1, 2]);
  });

  it('reports a packet the queue dropped as not received', () => {
    const { fb, reported } = setup(3, (i) => (i === 1 ? Number.POSITIVE_INFINITY : 0));
    fb.onDeparture(100, T0 + 1000);
    fb.onDeparture(102, T0 + 3000);
    const r = reported(T0 + 50_000);
    expect(r.get(0)).not.toBeNull();
    expect(r.get(1)).toBeNull();
    expect(r.get(2)).not.toBeNull();
    expect(fb.status(T0).counters.reportTiming.reportedLost).toBe(1);
  });

  it("markLostByMatchKey (the queue model retired it) reports it lost in its turn", () => {
    const { fb, reported } = setup(3, () => 0);
    expect(fb.markLostByMatchKey(101)).toBe(true);
    fb.onDeparture(100, T0 + 1000);
    fb.onDeparture(102, T0 + 3000);
    const r = reported(T0 + 50_000);
    expect(r.get(0)).not.toBeNull();
    expect(r.get(1)).toBeNull();
    expect(r.get(2)).not.toBeNull();
  });
});

describe('onTimingTrace', () => {
  it('reports each build of a transport: the lead used, the horizon, reported and waiting', () => {
    const { fb, reported } = setup(3, () => 0, 'defer');
    fb.queue = { departureUs: (tUs, pos) => tUs + 40_000 + pos * 20_000, horizonUs: () => 700_000, rateAgeUs: () => Number.POSITIVE_INFINITY };
    const traces: Array<{ leadUs: number; horizonUs: number; reported: number; pending: number; deferred: number }> = [];
    fb.onTimingTrace = (e) => traces.push(e);
    reported(T0 + 10_000);
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({ leadUs: 50_000, horizonUs: 700_000, reported: 1, pending: 2, deferred: 1 });
    fb.onTimingTrace = undefined;
    reported(T0 + 70_000);
    expect(traces).toHaveLength(1);
  });
});
