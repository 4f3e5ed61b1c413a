/**
 * In-band feedback (RTP with transport-wide congestion control): Zhuge acts as the receiver.
 * Each downlink RTP packet's transport-wide sequence number is recorded with its *predicted*
 * arrival time (AP arrival + Fortune Teller's total delay); at every feedback interval `build`
 * turns what was recorded into TWCC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
 * structures, which src/protocols/twcc.ts serializes.
 *
 * Reporting rules (what the sender sees):
 *   - Sequence numbers are unwrapped from 16 bits to an extended number (a JS number is exact to
 *     2^53, i.e. centuries of packets) relative to the last one seen, so wrap-around and
 *     reordering within +-32767 are handled.
 *   - Each build covers the range from the first unreported sequence number (the "frontier") to
 *     the highest recorded one; numbers in that range that were not recorded (or were marked
 *     lost) are reported as not received. The frontier then moves past the range.
 *   - A packet recorded after its number was already reported as not received (reordering, or a
 *     prediction made late) is reported as received exactly once, in a separate feedback packet
 *     of the next build whose range holds only such late packets (consecutive late numbers share
 *     a packet). libwebrtc's receiver (TransportSequenceNumberFeedbackGenerator, formerly
 *     RemoteEstimatorProxy) instead moves its window start back and re-reports the whole range
 *     from the late packet on; we do not re-report, so every received packet is reported as
 *     received exactly once and never first as received and then again. libwebrtc's sender
 *     (TransportFeedbackAdapter) accepts a "received" report for a packet it earlier saw
 *     reported lost, which is all the late path relies on.
 *   - The first recorded arrival of a number wins (duplicates are ignored).
 *
 * Packet layout decisions (per feedback packet):
 *   - reference time = floor(first received packet's predicted arrival / 64 ms), modulo 2^24 and
 *     given as the field's signed 24-bit value (wraps every ~12.4 days, as libwebrtc's does); the
 *     first delta is therefore 0..256 ticks;
 *   - receive deltas are in 250 µs ticks, rounded half away from zero against a running
 *     *quantized* timestamp (last += ticks * 250 µs), libwebrtc's carry scheme: each
 *     reconstructed arrival is within 125 µs of the recorded one, errors never accumulate;
 *   - predicted arrivals may go backwards across sequence numbers (negative deltas are legal, as
 *     large deltas); a delta outside int16 (+-8.19 s) starts a new feedback packet at that number;
 *   - a packet is closed before its estimated size would exceed maxPacketBytes (default 1200).
 *     The estimate is an upper bound for any encoder: 20 bytes of header and fixed fields, one
 *     2-byte chunk per 7 statuses (a two-bit status vector always fits 7), 1 or 2 bytes per
 *     delta, padding to 32 bits. Run-length chunks only make the real packet smaller.
 *   - fbPktCount increments (mod 256) with every feedback packet produced.
 *
 * Memory bound (seq-tracker.ts): at most maxRange (default 8192) sequence numbers are pending
 * between builds (a larger forward jump drops the oldest pending numbers unreported, counted in
 * `stats.dropped`), at most maxLate (default 1024) late packets wait for the next build, and a
 * 4096-entry ring remembers which of the most recently reported numbers were reported received
 * (a late packet older than that is ignored, `stats.tooOld`).
 */

import type { TwccFeedback } from '../protocols/feedback-types.js';
import { SeqTracker, type SeqRange, type SeqTrackerStats } from './seq-tracker.js';

export interface TwccRecorderConfig {
  /** Largest estimated feedback packet, bytes (default 1200). */
  maxPacketBytes?: number;
  /** Most packet statuses in one feedback packet (default 65535, the field's limit). */
  maxPacketsPerFeedback?: number;
  /** Late packets whose predicted arrival is older than this at build time are dropped (default 500 ms). */
  maxAgeMs?: number;
  /** Most sequence numbers pending between two builds (default 8192). */
  maxRange?: number;
  /** Most late packets waiting for the next build (default 1024). */
  maxLate?: number;
}

export const TWCC_RECORDER_DEFAULTS = {
  maxPacketBytes: 1200,
  maxPacketsPerFeedback: 0xffff,
  maxAgeMs: 500,
  maxRange: 8192,
  maxLate: 1024,
} as const;

const TICK_US = 250;
const REF_US = 64_000;
const REF_WRAP = 1 << 24;

export interface TwccRecorderStats extends SeqTrackerStats {
  feedbacks: number;
}

/** Rounds half away from zero (libwebrtc's delta rounding). */
function roundHalfAway(x: number): number {
  const r = x < 0 ? -Math.round(-x) : Math.round(x);
  return r === 0 ? 0 : r; // never -0 (it would not survive the wire)
}

export class TwccRecorder {
  private readonly maxPacketBytes: number;
  private readonly maxPerFeedback: number;
  private readonly maxAgeUs: number;
  private readonly tracker: SeqTracker<number>;
  private fbCount = 0;
  private feedbacks = 0;
  /** Reference time reused by a packet that reports no received packet at all. */
  private lastRefTicks = 0;

  constructor(config: TwccRecorderConfig = {}) {
    this.maxPacketBytes = config.maxPacketBytes ?? TWCC_RECORDER_DEFAULTS.maxPacketBytes;
    this.maxPerFeedback = Math.min(0xffff, config.maxPacketsPerFeedback ?? TWCC_RECORDER_DEFAULTS.maxPacketsPerFeedback);
    this.maxAgeUs = (config.maxAgeMs ?? TWCC_RECORDER_DEFAULTS.maxAgeMs) * 1000;
    if (this.maxPacketBytes < 32) throw new RangeError('TwccRecorder: maxPacketBytes must be >= 32');
    if (this.maxPerFeedback < 1) throw new RangeError('TwccRecorder: maxPacketsPerFeedback must be >= 1');
    this.tracker = new SeqTracker<number>(
      config.maxRange ?? TWCC_RECORDER_DEFAULTS.maxRange,
      config.maxLate ?? TWCC_RECORDER_DEFAULTS.maxLate,
    );
  }

  get stats(): TwccRecorderStats {
    return { ...this.tracker.stats, feedbacks: this.feedbacks };
  }

  /** Numbers waiting for the next build. */
  get pendingCount(): number {
    return this.tracker.pendingCount;
  }

  /** Records a downlink packet with its predicted arrival (µs on the daemon's monotonic clock). */
  record(transportSeq16: number, predictedArrivalUs: number): void {
    if (!Number.isFinite(predictedArrivalUs)) return;
    this.tracker.record(transportSeq16, predictedArrivalUs);
  }

  /** Marks a number as lost (e.g. dropped at the AP) so the next build reports it even if nothing follows it. */
  markLost(transportSeq16: number): void {
    this.tracker.markLost(transportSeq16);
  }

  /**
   * Builds feedback for everything recorded since the previous build: first the late packets
   * (if any), then the range from the frontier to the highest recorded number. Returns [] when
   * there is nothing to report. Late packets predicted to arrive before nowUs - maxAgeMs are
   * dropped: the sender has given up on them.
   */
  build(nowUs: number, senderSsrc: number, mediaSsrc: number): TwccFeedback[] {
    const out: TwccFeedback[] = [];
    const minUs = nowUs - this.maxAgeUs;
    for (const range of this.tracker.drain((a) => a >= minUs)) this.encodeRange(range, senderSsrc, mediaSsrc, out);
    return out;
  }

  /** Encodes one range into one or more feedback packets appended to `out`. */
  private encodeRange(range: SeqRange<number>, senderSsrc: number, mediaSsrc: number, out: TwccFeedback[]): void {
    let ext = range.first;
    const last = range.last;
    while (ext <= last) {
      const deltas: Array<number | null> = [];
      let refTicks: number | undefined;
      let lastUs = 0;
      let deltaBytes = 0;
      const base = ext;
      while (ext <= last) {
        const a = range.values.get(ext);
        const n = deltas.length + 1;
        if (n > this.maxPerFeedback) break;
        let ticks: number | null = null;
        let newRef: number | undefined;
        if (a !== undefined && a !== null) {
          if (refTicks === undefined) {
            newRef = Math.floor(a / REF_US);
            ticks = roundHalfAway((a - newRef * REF_US) / TICK_US);
          } else {
            ticks = roundHalfAway((a - lastUs) / TICK_US);
            if (ticks < -0x8000 || ticks > 0x7fff) break; // does not fit int16: new packet from here
          }
        }
        const addBytes = ticks === null ? 0 : deltaSize(ticks);
        if (deltas.length > 0 && estimateBytes(n, deltaBytes + addBytes) > this.maxPacketBytes) break;
        if (newRef !== undefined) {
          refTicks = newRef;
          lastUs = newRef * REF_US;
        }
        deltas.push(ticks);
        deltaBytes += addBytes;
        if (ticks !== null) lastUs += ticks * TICK_US;
        ext++;
      }
      out.push({
        senderSsrc: senderSsrc >>> 0,
        mediaSsrc: mediaSsrc >>> 0,
        baseSeq: base & 0xffff,
        referenceTime64ms: signed24(refTicks ?? this.lastRefTicks),
        fbPktCount: this.fbCount,
        deltas,
      });
      if (refTicks !== undefined) this.lastRefTicks = refTicks;
      this.fbCount = (this.fbCount + 1) & 0xff;
      this.feedbacks++;
    }
  }
}

/** The wire's 24-bit signed reference time: ticks modulo 2^24, as a signed value. */
function signed24(ticks: number): number {
  const w = ((ticks % REF_WRAP) + REF_WRAP) % REF_WRAP;
  return w >= 0x800000 ? w - REF_WRAP : w;
}

function deltaSize(ticks: number): number {
  return ticks >= 0 && ticks <= 0xff ? 1 : 2;
}

/** Upper bound of the serialized size of a feedback packet with n statuses. */
function estimateBytes(n: number, deltaBytes: number): number {
  const raw = 20 + 2 * Math.ceil(n / 7) + deltaBytes;
  return (raw + 3) & ~3;
}
