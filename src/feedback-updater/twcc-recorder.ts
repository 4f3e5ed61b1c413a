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
 * Memory bound: at most maxRange (default 8192) sequence numbers are pending between builds (a
 * larger forward jump drops the oldest pending numbers unreported, counted in `stats.dropped`),
 * at most maxLate (default 1024) late packets wait for the next build, and a 4096-entry ring
 * remembers which of the most recently reported numbers were reported lost (a late packet older
 * than that is ignored, `stats.tooOld`).
 */

import type { TwccFeedback } from '../protocols/feedback-types.js';

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

const REPORTED_RING = 4096;
const TICK_US = 250;
const REF_US = 64_000;
const REF_WRAP = 1 << 24;
const LOST = Number.NaN;

export interface TwccRecorderStats {
  recorded: number;
  duplicates: number;
  late: number;
  tooOld: number;
  dropped: number;
  feedbacks: number;
}

/** Rounds half away from zero (libwebrtc's delta rounding). */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Extends 16-bit sequence numbers relative to the previous one. */
export class SeqUnwrapper {
  private last: number | undefined;

  unwrap(seq16: number): number {
    const s = seq16 & 0xffff;
    const last = this.last;
    if (last === undefined) {
      this.last = s;
      return s;
    }
    const lastS = last & 0xffff;
    let diff = (s - lastS) & 0xffff;
    // exactly half-way counts as forward when the raw value grew (libwebrtc's IsNewerSequenceNumber)
    if (diff > 0x8000 || (diff === 0x8000 && s < lastS)) diff -= 0x10000;
    const ext = last + diff;
    this.last = ext;
    return ext;
  }
}

/** Arrival lookup for the encoder: a time in µs, NaN for "not received", or undefined (not received). */
type ArrivalOf = (ext: number) => number | undefined;

export class TwccRecorder {
  private readonly maxPacketBytes: number;
  private readonly maxPerFeedback: number;
  private readonly maxAgeUs: number;
  private readonly maxRange: number;
  private readonly maxLate: number;
  private readonly unwrapper = new SeqUnwrapper();
  /** Next unreported extended sequence number (undefined before the first record). */
  private frontier: number | undefined;
  private highest = -Infinity;
  /** Lowest number any feedback covered or will cover (numbers below were never reported). */
  private coveredStart: number | undefined;
  private readonly pending = new Map<number, number>();
  private readonly late = new Map<number, number>();
  /** 1 where the number (mod ring) was reported received; 0 where reported lost. */
  private readonly reportedReceived = new Uint8Array(REPORTED_RING);
  private fbCount = 0;
  readonly stats: TwccRecorderStats = { recorded: 0, duplicates: 0, late: 0, tooOld: 0, dropped: 0, feedbacks: 0 };

  constructor(config: TwccRecorderConfig = {}) {
    this.maxPacketBytes = config.maxPacketBytes ?? TWCC_RECORDER_DEFAULTS.maxPacketBytes;
    this.maxPerFeedback = Math.min(0xffff, config.maxPacketsPerFeedback ?? TWCC_RECORDER_DEFAULTS.maxPacketsPerFeedback);
    this.maxAgeUs = (config.maxAgeMs ?? TWCC_RECORDER_DEFAULTS.maxAgeMs) * 1000;
    this.maxRange = config.maxRange ?? TWCC_RECORDER_DEFAULTS.maxRange;
    this.maxLate = config.maxLate ?? TWCC_RECORDER_DEFAULTS.maxLate;
    if (this.maxPacketBytes < 32) throw new RangeError('TwccRecorder: maxPacketBytes must be >= 32');
    if (this.maxPerFeedback < 1 || this.maxRange < 1 || this.maxLate < 0) {
      throw new RangeError('TwccRecorder: limits must be positive');
    }
  }

  /** Records a downlink packet with its predicted arrival (µs on the daemon's monotonic clock). */
  record(transportSeq16: number, predictedArrivalUs: number): void {
    if (!Number.isFinite(predictedArrivalUs)) return;
    this.put(this.unwrapper.unwrap(transportSeq16), predictedArrivalUs);
  }

  /** Marks a number as lost (e.g. dropped at the AP) so the next build reports it even if nothing follows it. */
  markLost(transportSeq16: number): void {
    this.put(this.unwrapper.unwrap(transportSeq16), LOST);
  }

  private put(ext: number, arrivalUs: number): void {
    const received = !Number.isNaN(arrivalUs);
    if (this.frontier === undefined) {
      this.frontier = ext;
      this.coveredStart = ext;
    }
    if (ext >= this.frontier) {
      const prev = this.pending.get(ext);
      if (prev !== undefined && !Number.isNaN(prev)) {
        if (received) this.stats.duplicates++;
        return;
      }
      this.pending.set(ext, arrivalUs);
      if (received) this.stats.recorded++;
      if (ext > this.highest) this.highest = ext;
      this.enforceRange();
      return;
    }
    if (!received) return; // already reported, as lost or received: nothing to add
    if (ext < this.frontier - REPORTED_RING) {
      this.stats.tooOld++;
      return;
    }
    if (this.reportedReceived[ext & (REPORTED_RING - 1)] === 1 || this.late.has(ext)) {
      this.stats.duplicates++;
      return;
    }
    if (this.late.size >= this.maxLate) {
      this.stats.dropped++;
      return;
    }
    this.late.set(ext, arrivalUs);
    this.stats.recorded++;
    this.stats.late++;
  }

  private enforceRange(): void {
    const frontier = this.frontier;
    if (frontier === undefined || this.highest - frontier < this.maxRange) return;
    const newFrontier = this.highest - this.maxRange + 1;
    for (let e = frontier; e < newFrontier; e++) {
      const a = this.pending.get(e);
      if (a !== undefined) {
        this.pending.delete(e);
        if (!Number.isNaN(a)) this.stats.dropped++;
      }
      this.reportedReceived[e & (REPORTED_RING - 1)] = 0;
    }
    this.frontier = newFrontier;
  }

  /** Numbers waiting for the next build (pending range entries + late packets). */
  get pendingCount(): number {
    return this.pending.size + this.late.size;
  }

  /**
   * Builds feedback for everything recorded since the previous build: first the late packets
   * (if any), then the range from the frontier to the highest recorded number. Returns [] when
   * there is nothing to report.
   */
  build(nowUs: number, senderSsrc: number, mediaSsrc: number): TwccFeedback[] {
    const out: TwccFeedback[] = [];
    if (this.late.size > 0) {
      // packets whose predicted arrival aged out are dropped: the sender has given up on them
      const minUs = nowUs - this.maxAgeUs;
      const exts = [...this.late.entries()]
        .filter(([, a]) => a >= minUs)
        .map(([e]) => e)
        .sort((a, b) => a - b);
      this.stats.dropped += this.late.size - exts.length;
      let runStart = 0;
      // late packets below everything ever covered: report from the lowest one up to the covered
      // range, numbers in between as not received (they were never reported), as a receiver
      // that had seen that packet first would have
      const cs = this.coveredStart;
      const lowest = exts[0];
      if (cs !== undefined && lowest !== undefined && lowest < cs) {
        while (runStart < exts.length && (exts[runStart] ?? cs) < cs) runStart++;
        this.encodeRange(lowest, cs - 1, (e) => this.late.get(e), senderSsrc, mediaSsrc, out);
        this.coveredStart = lowest;
      }
      const firstRun = runStart;
      for (let i = firstRun + 1; i <= exts.length; i++) {
        const prev = exts[i - 1];
        const cur = exts[i];
        if (cur !== undefined && prev !== undefined && cur === prev + 1) continue;
        const first = exts[runStart];
        if (first !== undefined && prev !== undefined) {
          this.encodeRange(first, prev, (e) => this.late.get(e), senderSsrc, mediaSsrc, out);
        }
        runStart = i;
      }
      this.late.clear();
    }
    const frontier = this.frontier;
    if (frontier !== undefined && this.pending.size > 0 && this.highest >= frontier) {
      this.encodeRange(frontier, this.highest, (e) => this.pending.get(e), senderSsrc, mediaSsrc, out);
      this.frontier = this.highest + 1;
      this.pending.clear();
    }
    return out;
  }

  /** Encodes [first, last] into one or more feedback packets appended to `out`. */
  private encodeRange(
    first: number,
    last: number,
    arrivalOf: ArrivalOf,
    senderSsrc: number,
    mediaSsrc: number,
    out: TwccFeedback[],
  ): void {
    let ext = first;
    while (ext <= last) {
      const deltas: Array<number | null> = [];
      let refTicks: number | undefined;
      let lastUs = 0;
      let deltaBytes = 0;
      const base = ext;
      while (ext <= last) {
        const a = arrivalOf(ext);
        const n = deltas.length + 1;
        if (n > this.maxPerFeedback) break;
        let ticks: number | null = null;
        let newRef: number | undefined;
        if (isReceived(a)) {
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
        if (ticks !== null) {
          lastUs += ticks * TICK_US;
          this.reportedReceived[ext & (REPORTED_RING - 1)] = 1;
        } else {
          this.reportedReceived[ext & (REPORTED_RING - 1)] = 0;
        }
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
      this.stats.feedbacks++;
    }
  }

  /** Reference time reused by a packet that reports no received packet at all. */
  private lastRefTicks = 0;
}

/** The wire's 24-bit signed reference time: ticks modulo 2^24, as a signed value. */
function signed24(ticks: number): number {
  const w = ((ticks % REF_WRAP) + REF_WRAP) % REF_WRAP;
  return w >= 0x800000 ? w - REF_WRAP : w;
}

function isReceived(a: number | undefined): a is number {
  return a !== undefined && !Number.isNaN(a);
}

function deltaSize(ticks: number): number {
  return ticks >= 0 && ticks <= 0xff ? 1 : 2;
}

/** Upper bound of the serialized size of a feedback packet with n statuses. */
function estimateBytes(n: number, deltaBytes: number): number {
  const raw = 20 + 2 * Math.ceil(n / 7) + deltaBytes;
  return (raw + 3) & ~3;
}
