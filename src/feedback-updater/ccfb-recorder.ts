/**
 * In-band feedback in the IETF format, RFC 8888 (RTCP CCFB): like TwccRecorder, Zhuge acts as the
 * receiver, but per RTP stream (SSRC + RTP sequence number) and with arrival times expressed as
 * offsets (ATO, 1/1024 s) *before* the report timestamp (RTS, middle 32 bits of NTP).
 *
 * Choices:
 *   - Each packet is reported once (RFC 8888 lets a receiver re-report packets for robustness;
 *     the sender side must then de-duplicate, and a re-report could only repeat the same
 *     prediction). Sequence tracking (unwrap, gaps reported as not received, late packets
 *     reported received once in their own block, bounds) is SeqTracker's, one per SSRC; a stream
 *     can therefore have two blocks in one report (late run + main range).
 *   - Predicted arrivals lie in the future (arrival at the AP + predicted delay), and an ATO
 *     cannot express "after the report" (0x1FFF = unavailable). The report timestamp is
 *     therefore max(nowUs, latest predicted arrival in the report), rounded *up* to the RTS
 *     resolution (1/65536 s), so every ATO is >= 0. The sender only uses differences of
 *     (RTS - ATO), so a timestamp slightly ahead of the wall clock costs nothing, while dropping
 *     the future part of the prediction would defeat Zhuge.
 *   - ATO = round((RTS - arrival) x 1024 s^-1): error <= 1/2048 s; 0x1FFE when > 8189/1024 s.
 *   - Pure: the caller gives the NTP mapping as nowNtp32 (RTS value at nowUs); without it, the
 *     daemon's monotonic µs clock is used as if it were NTP time (fine for a sender that, like
 *     libwebrtc, uses RTS only as the base of the arrival times).
 *   - A report is closed before it exceeds maxPacketBytes (default 1200); a range that does not
 *     fit is continued in the next block / report. Blocks carry at most 16384 metrics (RFC).
 * Bounds: at most maxStreams SSRCs (default 256; packets of further SSRCs are ignored and
 * counted), each SeqTracker bounded as documented in seq-tracker.ts.
 */

import type { CcfbMetric, CcfbReport, CcfbStreamBlock } from '../protocols/feedback-types.js';
import { SeqTracker, type SeqRange } from './seq-tracker.js';

export interface CcfbRecorderConfig {
  /** Largest report, bytes (default 1200). */
  maxPacketBytes?: number;
  /** Late packets predicted to arrive before nowUs - maxAgeMs at build time are dropped (default 500 ms). */
  maxAgeMs?: number;
  /** Most sequence numbers pending per SSRC between builds (default 16384). */
  maxRange?: number;
  /** Most late packets per SSRC waiting for the next build (default 1024). */
  maxLate?: number;
  /** Most SSRCs tracked (default 256). */
  maxStreams?: number;
}

export const CCFB_RECORDER_DEFAULTS = {
  maxPacketBytes: 1200,
  maxAgeMs: 500,
  maxRange: 16384,
  maxLate: 1024,
  maxStreams: 256,
} as const;

const MAX_METRICS_PER_BLOCK = 16384;
const ATO_OVER_RANGE = 0x1ffe;
const ATO_MAX = 0x1ffd;
const OVERHEAD_BYTES = 12; // RTCP header + sender SSRC + report timestamp
const BLOCK_HEADER_BYTES = 8;
const NTP32_PER_S = 65536;
const TWO32 = 0x100000000;

interface Arrival {
  tUs: number;
  ecn: number;
}

export interface CcfbRecorderStats {
  ignoredStreams: number;
  reports: number;
}

export class CcfbRecorder {
  private readonly maxPacketBytes: number;
  private readonly maxAgeUs: number;
  private readonly maxRange: number;
  private readonly maxLate: number;
  private readonly maxStreams: number;
  private readonly streams = new Map<number, SeqTracker<Arrival>>();
  readonly stats: CcfbRecorderStats = { ignoredStreams: 0, reports: 0 };

  constructor(config: CcfbRecorderConfig = {}) {
    this.maxPacketBytes = config.maxPacketBytes ?? CCFB_RECORDER_DEFAULTS.maxPacketBytes;
    this.maxAgeUs = (config.maxAgeMs ?? CCFB_RECORDER_DEFAULTS.maxAgeMs) * 1000;
    this.maxRange = Math.min(config.maxRange ?? CCFB_RECORDER_DEFAULTS.maxRange, MAX_METRICS_PER_BLOCK * 16);
    this.maxLate = config.maxLate ?? CCFB_RECORDER_DEFAULTS.maxLate;
    this.maxStreams = config.maxStreams ?? CCFB_RECORDER_DEFAULTS.maxStreams;
    if (this.maxPacketBytes < OVERHEAD_BYTES + BLOCK_HEADER_BYTES + 4) {
      throw new RangeError('CcfbRecorder: maxPacketBytes too small');
    }
  }

  /** Records an RTP packet of stream `ssrc` with its predicted arrival (µs) and ECN codepoint. */
  record(ssrc: number, seq16: number, predictedArrivalUs: number, ecn: number): void {
    if (!Number.isFinite(predictedArrivalUs)) return;
    this.tracker(ssrc)?.record(seq16, { tUs: predictedArrivalUs, ecn: ecn & 3 });
  }

  /** Marks a packet as lost so the next build reports it even if nothing of the stream follows. */
  markLost(ssrc: number, seq16: number): void {
    this.tracker(ssrc)?.markLost(seq16);
  }

  /** Stops tracking a stream (e.g. on RTCP BYE or flow expiry). */
  forget(ssrc: number): void {
    this.streams.delete(ssrc >>> 0);
  }

  private tracker(ssrc: number): SeqTracker<Arrival> | undefined {
    const key = ssrc >>> 0;
    let t = this.streams.get(key);
    if (t === undefined) {
      if (this.streams.size >= this.maxStreams) {
        this.stats.ignoredStreams++;
        return undefined;
      }
      t = new SeqTracker<Arrival>(this.maxRange, this.maxLate);
      this.streams.set(key, t);
    }
    return t;
  }

  /**
   * Reports everything recorded since the previous build (each packet once). `nowNtp32` is the
   * RTS value that corresponds to `nowUs`; without it the µs clock itself is used as the NTP
   * time base. Returns [] when there is nothing to report.
   */
  build(nowUs: number, senderSsrc: number, nowNtp32?: number): CcfbReport[] {
    const minUs = nowUs - this.maxAgeUs;
    const work: Array<{ ssrc: number; range: SeqRange<Arrival> }> = [];
    let latestUs = nowUs;
    for (const [ssrc, tracker] of this.streams) {
      for (const range of tracker.drain((a) => a.tUs >= minUs)) {
        work.push({ ssrc, range });
        for (const v of range.values.values()) if (v !== null && v.tUs > latestUs) latestUs = v.tUs;
      }
    }
    if (work.length === 0) return [];

    // RTS: rounded up to 1/65536 s so that it is never before the latest predicted arrival.
    let rtsNtp32: number;
    let rtsUs: number; // the exact µs instant the RTS value stands for
    if (nowNtp32 === undefined) {
      const units = Math.ceil((latestUs * NTP32_PER_S) / 1e6);
      rtsUs = (units * 1e6) / NTP32_PER_S;
      rtsNtp32 = ((units % TWO32) + TWO32) % TWO32;
    } else {
      const aheadUnits = Math.ceil(((latestUs - nowUs) * NTP32_PER_S) / 1e6);
      rtsUs = nowUs + (aheadUnits * 1e6) / NTP32_PER_S;
      rtsNtp32 = (((nowNtp32 + aheadUnits) % TWO32) + TWO32) % TWO32;
    }

    const reports: CcfbReport[] = [];
    let current: CcfbReport = { senderSsrc: senderSsrc >>> 0, streams: [], reportTimestampNtp32: rtsNtp32 };
    let size = OVERHEAD_BYTES;
    const flush = (): void => {
      if (current.streams.length === 0) return;
      reports.push(current);
      this.stats.reports++;
      current = { senderSsrc: senderSsrc >>> 0, streams: [], reportTimestampNtp32: rtsNtp32 };
      size = OVERHEAD_BYTES;
    };
    for (const { ssrc, range } of work) {
      let ext = range.first;
      while (ext <= range.last) {
        // as many metrics as fit in what is left of this report (odd counts carry 2 bytes of padding)
        const avail = this.maxPacketBytes - size - BLOCK_HEADER_BYTES;
        let n = Math.min(range.last - ext + 1, Math.floor(avail / 2), MAX_METRICS_PER_BLOCK);
        if (n % 2 === 1 && 2 * n + 2 > avail) n--;
        if (n < 1) {
          flush(); // an empty report always has room (constructor checks maxPacketBytes)
          continue;
        }
        const metrics: CcfbMetric[] = [];
        for (let k = 0; k < n; k++) metrics.push(metric(range.values.get(ext + k), rtsUs));
        const block: CcfbStreamBlock = { ssrc, beginSeq: ext & 0xffff, metrics };
        const blockBytes = BLOCK_HEADER_BYTES + 2 * n + (n % 2 === 1 ? 2 : 0);
        current.streams.push(block);
        size += blockBytes;
        ext += n;
      }
    }
    flush();
    return reports;
  }
}

function metric(a: Arrival | null | undefined, rtsUs: number): CcfbMetric {
  if (a === undefined || a === null) return { received: false, ecn: 0, atoUnits: 0 };
  const offsetUs = Math.max(0, rtsUs - a.tUs);
  const units = Math.round((offsetUs * 1024) / 1e6);
  return { received: true, ecn: a.ecn, atoUnits: units > ATO_MAX ? ATO_OVER_RANGE : units };
}
