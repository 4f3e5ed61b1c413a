import { describe, expect, it } from 'vitest';
import { AIMD_BETA } from '../../../testbed/gcc/aimd-decrease.js';
import {
  feedbackBatches,
  replayGcc,
  sortedByReceiveTime,
  STREAM_TIMEOUT_MS,
  type GccPacket,
} from '../../../testbed/gcc/replay-gcc.js';
import { parseGccSeries, summarizeReplay } from '../../../testbed/gcc/replay-file.js';
import { paced } from './helpers.js';

const pk = (seq: number, sendTimeMs: number, arrivalTimeMs: number | null): GccPacket => ({
  seq,
  sendTimeMs,
  sizeBytes: 1000,
  arrivalTimeMs,
});

describe('feedback messages', () => {
  it.each([
    [100, [[0, 1, 2], [3, 4]]],
    [0, [[0], [1, 2], [3], [4]]],
    [Infinity, [[0, 1, 2, 3, 4]]],
  ])('interval %f ms cuts seq order by reported arrival; lost packets ride along', (intervalMs, want) => {
    const s = [pk(0, 0, 10), pk(1, 10, 60), pk(2, 20, null), pk(3, 30, 115), pk(4, 40, 120)];
    expect(feedbackBatches(s, intervalMs).map((b) => b.map((p) => p.seq))).toEqual(want);
  });

  it('sorts a message by receive time, then send time, then seq, without the lost', () => {
    const s = [pk(0, 0, 30), pk(1, 10, 20), pk(2, 5, 20), pk(3, 5, 20), pk(4, 1, null)];
    expect(sortedByReceiveTime(s).map((p) => p.seq)).toEqual([2, 3, 1, 0]);
  });
});

describe('replayGcc', () => {
  /** 1 Mbit/s (1250 B every 10 ms); the queue builds by stretchMs per packet from rampMs on. */
  function ramp(rampMs: number, stretchMs: number): GccPacket[] {
    return paced(800, 10, (i) => 20 + Math.max(0, i * 10 - rampMs) * (stretchMs / 10), 1250);
  }

  it('reports the AIMD decrease: 0.85 x the acknowledged bitrate, no faster than the reduce interval', () => {
    const rttMs = 50;
    const r = replayGcc(ramp(3000, 2), { rttMs });
    expect(r.decreases.length).toBeGreaterThan(0);
    const first = r.decreases[0];
    expect(first?.tMs).toBeGreaterThanOrEqual(r.firstOveruseMs ?? Infinity);
    const acked = r.ackedBitrate.find((a) => a.tMs === first?.tMs)?.bitrateBps;
    expect(first?.ackedBitrateBps).toBe(acked);
    expect(first?.targetBps).toBeCloseTo(AIMD_BETA * (acked ?? NaN), 6);
    for (let i = 1; i < r.decreases.length; i += 1) {
      expect((r.decreases[i]?.tMs ?? 0) - (r.decreases[i - 1]?.tMs ?? 0)).toBeGreaterThanOrEqual(rttMs);
    }
  });

  it('no decrease while normal', () => {
    expect(replayGcc(paced(800, 10, () => 20, 1250)).decreases).toEqual([]);
  });

  it.each([
    [0, true],
    [3500, true],
    [20_000, false],
  ])('first overuse at or after %f ms (found: %s)', (afterMs, found) => {
    const r = replayGcc(ramp(3000, 2), { overuseAfterMs: afterMs });
    if (!found) {
      expect(r.firstOveruseMs).toBeNull();
      return;
    }
    expect(r.firstOveruseMs).toBeGreaterThanOrEqual(Math.max(afterMs, 3000));
    const row = r.groups.find((g) => g.tMs === r.firstOveruseMs);
    expect(row?.state).toBe('overusing');
  });

  it('a feedback gap of more than 2 s recreates the detector (and the first start is not counted)', () => {
    const s = paced(200, 20, () => 30).map((p) =>
      p.seq >= 100 ? { ...p, sendTimeMs: p.sendTimeMs + STREAM_TIMEOUT_MS + 500, arrivalTimeMs: (p.arrivalTimeMs ?? 0) + STREAM_TIMEOUT_MS + 500 } : p,
    );
    const r = replayGcc(s);
    expect(r.counts.timeoutResets).toBe(1);
    expect(replayGcc(paced(200, 20, () => 30)).counts.timeoutResets).toBe(0);
  });

  it('counts lost packets out of the acknowledged bitrate', () => {
    const all = paced(1000, 10, () => 20, 1250);
    const halfLost = all.map((p) => (p.seq % 2 === 1 ? { ...p, arrivalTimeMs: null } : p));
    const r = replayGcc(halfLost);
    expect(r.counts.received).toBe(500);
    // a 150 ms window holds 7 or 8 of the 20 ms-spaced survivors: 467 or 533 kbit/s samples
    expect(Math.abs((r.ackedBitrate.at(-1)?.bitrateBps ?? 0) - 500_000)).toBeLessThanOrEqual(500_000 / 15 + 1);
  });
});

describe('replay-file helpers', () => {
  it.each([
    [[{ seq: 0, sendTimeMs: 0, sizeBytes: 10, arrivalTimeMs: null }], 1],
    [{ series: [{ seq: 0, sendTimeMs: 0, sizeBytes: 10, arrivalTimeMs: 5 }] }, 1],
    [{ packets: [] }, 0],
  ])('parses %j', (doc, n) => {
    expect(parseGccSeries(doc)).toHaveLength(n);
  });

  it.each([
    [{ nope: 1 }, /array/],
    [[{ seq: 0, sendTimeMs: 0, sizeBytes: 10 }], /packet 0/],
    [[1], /packet 0: not an object/],
  ])('rejects %j', (doc, msg) => {
    expect(() => parseGccSeries(doc)).toThrow(msg);
  });

  it('summarizes a replay', () => {
    const s = paced(800, 10, (i) => 20 + Math.max(0, i * 10 - 3000) * 0.2, 1250);
    const sum = summarizeReplay(s, replayGcc(s), 2);
    expect(sum.spanMs).toBe(7990);
    expect(sum.decreases.length).toBeLessThanOrEqual(2);
    expect(sum.decreaseCount).toBeGreaterThan(0);
    expect(sum.stateShare.normal + sum.stateShare.overusing + sum.stateShare.underusing).toBeCloseTo(1, 9);
    expect(sum.ackedBitrateBps.first).toBe(1_000_000);
  });
});
