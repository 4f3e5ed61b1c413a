/**
 * summarizeRtc on synthetic series whose answers can be worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import type { FrameSample, ReceiverSample, SenderSample } from '../../testbed/webrtc/call.js';
import { quantile, summarizeRtc, type RtcSeries } from '../../testbed/webrtc/metrics.js';

function sender(tMs: number, o: Partial<SenderSample> = {}): SenderSample {
  return {
    tMs,
    availableOutgoingBitrateBps: 3e6,
    rttMs: 5,
    remoteRttMs: 5,
    bitrateBps: 1e6,
    bytesSent: 0,
    packetsSent: 0,
    retransmittedBytesSent: 0,
    totalPacketSendDelayS: 0,
    keyFramesEncoded: 0,
    pliCount: 0,
    framesEncoded: 0,
    framesSent: 0,
    fps: 30,
    frameWidth: 640,
    frameHeight: 360,
    targetBitrateBps: 1e6,
    qualityLimitationReason: 'none',
    nackCount: 0,
    ...o,
  };
}

function receiver(tMs: number, o: Partial<ReceiverSample> = {}): ReceiverSample {
  return {
    tMs,
    fps: 30,
    decodedFps: 30,
    framesReceived: 0,
    framesDecoded: 0,
    framesDropped: 0,
    freezeCount: 0,
    totalFreezesDurationS: 0,
    jitterBufferDelayS: 0,
    jitterBufferEmittedCount: 0,
    jitterBufferMs: 20,
    bitrateBps: 1e6,
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    nackCount: 0,
    frameWidth: 640,
    frameHeight: 360,
    ...o,
  };
}

/** frames every `periodMs` in [from, to) with delay(t) (undefined: no frame presented) */
function frames(from: number, to: number, periodMs: number, delay: (t: number) => number | undefined): FrameSample[] {
  const out: FrameSample[] = [];
  for (let t = from; t < to; t += periodMs) {
    const d = delay(t);
    if (d !== undefined) out.push({ tMs: t, delayMs: d, seq: out.length & 0xff, width: 640, height: 360 });
  }
  return out;
}

function every(from: number, to: number, periodMs: number): number[] {
  const out: number[] = [];
  for (let t = from; t < to; t += periodMs) out.push(t);
  return out;
}

const DROP = 5000;
const END = 10_000;

function series(o: {
  delay?: (t: number) => number | undefined;
  snd?: (t: number) => Partial<SenderSample>;
  rcv?: (t: number) => Partial<ReceiverSample>;
}): RtcSeries {
  return {
    frames: frames(0, END, 20, o.delay ?? (() => 50)),
    sender: every(0, END, 100).map((t) => sender(t, o.snd?.(t))),
    receiver: every(0, END, 100).map((t) => receiver(t, o.rcv?.(t))),
  };
}

describe('summarizeRtc', () => {
  it('steady call: nothing late, nothing slow, delays as given', () => {
    const s = summarizeRtc(series({ delay: (t) => 40 + (t % 100) / 10 }), DROP, END, { capacityAfterBps: 3e5 });
    expect(s.frameDelayP50Ms).toBe(44);
    expect(s.frameDelayP99Ms).toBe(48);
    expect(s.before.frameDelayP50Ms).toBe(44);
    expect(s.frameDelayAbove400msSeconds).toBe(0);
    expect(s.fpsBelow10Seconds).toBe(0);
    expect(s.rttAbove200msSeconds).toBe(0);
    expect(s.bitrateMbps).toBe(1);
    expect(s.after.presentedFps).toBe(50);
    expect(s.gccBelowCapacityAfterMs).toBeNaN();
  });

  const lateCases: Array<{ name: string; delay: (t: number) => number | undefined; want: number }> = [
    // frames 500 ms late during [6000, 8000): each covers its 20 ms until the next frame
    { name: 'late frames', delay: (t) => (t >= 6000 && t < 8000 ? 500 : 50), want: 2 },
    // the frame at 5980 (100 ms old) stays on screen until 7000: older than 400 ms from 6280
    { name: 'a freeze', delay: (t) => (t >= 6000 && t < 7000 ? undefined : 100), want: 0.72 },
    // a stale period across the drop counts only inside the window
    { name: 'clipped at the drop', delay: (t) => (t >= 4000 && t < 5500 ? 900 : 50), want: 0.5 },
    // a frame delay of 390 ms: older than 400 ms 10 ms into its 20 ms span
    { name: 'half-late spans', delay: (t) => (t >= 6000 && t < 7000 ? 390 : 50), want: 0.5 },
  ];
  for (const c of lateCases) {
    it(`frameDelayAbove400msSeconds: ${c.name}`, () => {
      const s = summarizeRtc(series({ delay: c.delay }), DROP, END);
      expect(s.frameDelayAbove400msSeconds).toBeCloseTo(c.want, 6);
    });
  }

  it('clipping at the drop also bounds the pre-drop window', () => {
    const s = summarizeRtc(series({ delay: (t) => (t >= 4000 && t < 5500 ? 900 : 50) }), DROP, END);
    expect(s.before.frameDelayAbove400msSeconds).toBeCloseTo(1, 6);
    expect(s.before.frameDelayP99Ms).toBe(900);
  });

  it('fpsBelow10Seconds counts the sampled time with decoded fps < 10 (falls back to inbound fps)', () => {
    const s = summarizeRtc(
      series({ rcv: (t) => (t >= 6000 && t < 7500 ? { decodedFps: 5 } : t >= 8000 && t < 8300 ? { decodedFps: null, fps: 2 } : {}) }),
      DROP,
      END,
    );
    expect(s.fpsBelow10Seconds).toBeCloseTo(1.8, 6);
    expect(s.before.fpsBelow10Seconds).toBe(0);
  });

  it('a stats gap longer than 1 s counts as 1 s', () => {
    const r = series({ rcv: () => ({ decodedFps: 0 }) });
    const rcv = r.receiver.filter((x) => x.tMs < 6000 || x.tMs >= 9000);
    const s = summarizeRtc({ ...r, receiver: rcv }, DROP, END);
    // 5000..5900: 10 samples x 100 ms, the one at 5900 spans to 9000 → 1 s, 9000..9900: 1 s
    expect(s.fpsBelow10Seconds).toBeCloseTo(0.9 + 1 + 1, 6);
  });

  it('rttAbove200msSeconds takes the larger of the RTCP and the candidate-pair RTT', () => {
    const s = summarizeRtc(
      series({
        snd: (t) =>
          t >= 6000 && t < 6500 ? { remoteRttMs: 300 } : t >= 7000 && t < 7200 ? { rttMs: 250, remoteRttMs: null } : {},
      }),
      DROP,
      END,
    );
    expect(s.rttAbove200msSeconds).toBeCloseTo(0.7, 6);
    expect(s.after.pairRttAbove200msSeconds).toBeCloseTo(0.2, 6);
    expect(s.after.rttMaxMs).toBe(300);
  });

  it('gccBelowCapacityAfterMs: first availableOutgoingBitrate under the new capacity after the drop', () => {
    const snd = (t: number): Partial<SenderSample> => ({
      availableOutgoingBitrateBps: t < 5800 ? 3e6 : 2.5e5,
      bitrateBps: t < 6300 ? 1.2e6 : 2e5,
    });
    const r = series({ snd });
    expect(summarizeRtc(r, DROP, END, { capacityAfterBps: 3e5 }).gccBelowCapacityAfterMs).toBe(800);
    expect(summarizeRtc(r, DROP, END, { capacityAfterBps: 3e5 }).sendRateBelowCapacityAfterMs).toBe(1300);
    // the drop time need not fall on a sample
    expect(summarizeRtc(r, DROP + 37.5, END, { capacityAfterBps: 3e5 }).gccBelowCapacityAfterMs).toBe(762.5);
    expect(summarizeRtc(r, DROP, END, { capacityAfterBps: 2e5 }).gccBelowCapacityAfterMs).toBeNaN();
    expect(summarizeRtc(r, DROP, END).gccBelowCapacityAfterMs).toBeNaN();
    // before the drop the estimate was above: not counted
    expect(summarizeRtc(series({ snd: () => ({ availableOutgoingBitrateBps: 1e5 }) }), DROP, END, { capacityAfterBps: 3e5 }).gccBelowCapacityAfterMs).toBe(0);
  });

  it('bitrate, freezes and jitter buffer per window', () => {
    const s = summarizeRtc(
      series({
        snd: (t) => ({ bitrateBps: t < DROP ? 2e6 : t < 7500 ? 6e5 : 2e5 }),
        rcv: (t) => ({ freezeCount: t < 6000 ? 1 : 3, totalFreezesDurationS: t < 6000 ? 0.5 : 1.75, jitterBufferMs: t < DROP ? 20 : 150 }),
      }),
      DROP,
      END,
    );
    expect(s.before.bitrateMbps).toBe(2);
    expect(s.bitrateMbps).toBe(0.4);
    expect(s.after.freezes).toBe(2);
    expect(s.after.freezeSeconds).toBe(1.25);
    expect(s.before.freezes).toBe(0);
    expect(s.after.jitterBufferP50Ms).toBe(150);
    expect(s.before.jitterBufferP50Ms).toBe(20);
  });

  it('empty series give NaN/0, never throw', () => {
    const s = summarizeRtc({ sender: [], receiver: [], frames: [] }, DROP, END, { capacityAfterBps: 1 });
    expect(s.frameDelayP50Ms).toBeNaN();
    expect(s.frameDelayAbove400msSeconds).toBe(0);
    expect(s.bitrateMbps).toBeNaN();
    expect(s.gccBelowCapacityAfterMs).toBeNaN();
  });
});

describe('quantile', () => {
  it.each([
    [[5, 1, 3], 0.5, 3],
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4], 0.99, 4],
    [[7], 0, 7],
  ])('%j q=%d → %d', (xs, q, want) => expect(quantile(xs, q)).toBe(want));
  it('empty → NaN', () => expect(quantile([], 0.5)).toBeNaN());
});
