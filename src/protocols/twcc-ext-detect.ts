/**
 * Detects which RTP header extension id carries the transport-wide sequence number
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01) from the RTP packets of ONE transport
 * (5-tuple) alone, without the SDP.
 *
 * Wire element looked for (one-byte form shown; the two-byte form works the same):
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   | L=1   | transport-wide sequence (16)  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Signature: a 2-byte element whose value rises by exactly one (mod 2^16) from one packet to the
 * next ACROSS every SSRC of the transport (video, audio, RTX, FEC share one counter).
 *
 * Per candidate id (1..255), between consecutive packets that carry it with length 2:
 *   step d = (v - vPrev) mod 2^16
 *   d == 1               -> agree        (the normal case)
 *   2 <= d <= maxGap     -> agree        (loss between the two packets, on the path to the AP)
 *   d >= 2^16 - maxGap   -> neutral      (reordering)
 *   anything else (d == 0 included) -> disagree
 * and each step is also booked as "cross-SSRC" when the two packets have different SSRCs.
 *
 * An id is reported when: agree >= minPackets, agree / (agree + disagree) >= minAgreeRatio, and,
 * if the id has been seen on more than one SSRC, no cross-SSRC step disagreed, or the cross-SSRC
 * steps agree too (crossAgree >= minCrossSsrc and crossAgree / (crossAgree + crossDisagree) >=
 * minAgreeRatio; only then is it "cross-SSRC verified"). That rejects a per-SSRC counter (its
 * cross-SSRC steps jump) once a second SSRC shows up; with a single SSRC the two are
 * indistinguishable (and equivalent for feedback purposes). Measured on Chromium calls: the very
 * first packets of a call can be a few RTX padding probes on their own SSRC, then video alone for
 * many seconds; requiring two agreeing cross-SSRC steps there delayed detection by 16 s (until
 * the next retransmission), during which the transport was left untreated.
 * Elements of other lengths (abs-send-time: 3 bytes, audio level: 1 byte, ...) are never
 * candidates. Counters are halved when they grow large, so the decision tracks recent traffic.
 *
 * Pure and allocation-free per packet: fixed typed arrays indexed by id.
 */
import { ParseError } from './errors.js';
import { RtpExtensionCursor, type RtpView } from './rtp.js';

export interface TwccDetectorOptions {
  /** Agreeing steps needed before reporting (default 20). */
  minPackets?: number;
  /** Minimum agree / (agree + disagree) (default 0.9). */
  minAgreeRatio?: number;
  /** Largest step still counted as agreement (loss tolerance, default 4). */
  maxGap?: number;
  /** Cross-SSRC agreeing steps needed when the id was seen on several SSRCs (default 2). */
  minCrossSsrc?: number;
}

export interface TwccDetection {
  extId: number;
  /** agree / (agree + disagree) of the reported id, 0..1. */
  confidence: number;
  /** True when the id was seen on several SSRCs and its counter ran across them. */
  crossSsrcVerified: boolean;
}

const IDS = 256;
const DECAY_AT = 4096;

export class TwccExtensionDetector {
  private readonly minPackets: number;
  private readonly minAgreeRatio: number;
  private readonly maxGap: number;
  private readonly minCrossSsrc: number;
  private readonly last = new Int32Array(IDS).fill(-1);
  private readonly lastSsrc = new Float64Array(IDS).fill(-1);
  private readonly firstSsrc = new Float64Array(IDS).fill(-1);
  private readonly multiSsrc = new Uint8Array(IDS);
  private readonly agree = new Float64Array(IDS);
  private readonly disagree = new Float64Array(IDS);
  private readonly crossAgree = new Float64Array(IDS);
  private readonly crossDisagree = new Float64Array(IDS);
  /** Ids seen with a 2-byte element, in order of first sight (recompute() scans only these). */
  private readonly idSeen = new Uint8Array(IDS);
  private readonly idList = new Uint8Array(IDS);
  private idCount = 0;
  private readonly cursor = new RtpExtensionCursor();
  private readonly current: TwccDetection = { extId: 0, confidence: 0, crossSsrcVerified: false };
  private hasCurrent = false;
  private dirty = false;
  /** RTP packets observed. */
  packets = 0;

  constructor(opts: TwccDetectorOptions = {}) {
    this.minPackets = opts.minPackets ?? 20;
    this.minAgreeRatio = opts.minAgreeRatio ?? 0.9;
    this.maxGap = opts.maxGap ?? 4;
    this.minCrossSsrc = opts.minCrossSsrc ?? 2;
  }

  /**
   * Feeds one parsed RTP packet of the transport. Malformed extension blocks are skipped (the
   * packet is ignored), never thrown.
   */
  observe(buf: Uint8Array, view: RtpView): void {
    if (view.extForm !== 'one-byte' && view.extForm !== 'two-byte') return;
    this.packets++;
    const c = this.cursor.reset(buf, view);
    const ssrc = view.ssrc;
    for (;;) {
      let more: boolean;
      try {
        more = c.next();
      } catch (e) {
        if (e instanceof ParseError) return; // malformed elements: ignore the rest of this packet
        throw e;
      }
      if (!more) return;
      if (c.length !== 2) continue;
      this.step(c.id, (buf[c.offset]! << 8) | buf[c.offset + 1]!, ssrc);
    }
  }

  private step(id: number, v: number, ssrc: number): void {
    if (this.idSeen[id] === 0) {
      this.idSeen[id] = 1;
      this.idList[this.idCount++] = id;
    }
    if (this.firstSsrc[id]! < 0) this.firstSsrc[id] = ssrc;
    else if (this.firstSsrc[id] !== ssrc) this.multiSsrc[id] = 1;
    const prev = this.last[id]!;
    const cross = this.lastSsrc[id]! >= 0 && this.lastSsrc[id] !== ssrc;
    this.last[id] = v;
    this.lastSsrc[id] = ssrc;
    if (prev < 0) return;
    const d = (v - prev) & 0xffff;
    if (d >= 1 && d <= this.maxGap) {
      this.agree[id]! += 1;
      if (cross) this.crossAgree[id]! += 1;
    } else if (d !== 0 && d >= 0x10000 - this.maxGap) {
      // reordering: neutral; keep the higher value as reference
      this.last[id] = prev;
    } else {
      this.disagree[id]! += 1;
      if (cross) this.crossDisagree[id]! += 1;
    }
    if (this.agree[id]! + this.disagree[id]! > DECAY_AT) {
      this.agree[id]! /= 2;
      this.disagree[id]! /= 2;
      this.crossAgree[id]! /= 2;
      this.crossDisagree[id]! /= 2;
    }
    this.dirty = true;
  }

  /** The detected id with its confidence, or null while no id qualifies. The returned object is reused. */
  result(): TwccDetection | null {
    if (this.dirty) this.recompute();
    return this.hasCurrent ? this.current : null;
  }

  /** Agree/disagree counts of one id (diagnostics, tests). */
  stats(id: number): { agree: number; disagree: number; crossAgree: number; crossDisagree: number; multiSsrc: boolean } {
    return {
      agree: this.agree[id] ?? 0,
      disagree: this.disagree[id] ?? 0,
      crossAgree: this.crossAgree[id] ?? 0,
      crossDisagree: this.crossDisagree[id] ?? 0,
      multiSsrc: this.multiSsrc[id] === 1,
    };
  }

  private recompute(): void {
    this.dirty = false;
    let best = -1;
    let bestAgree = 0;
    let bestRatio = 0;
    let bestCross = false;
    for (let i = 0; i < this.idCount; i++) {
      const id = this.idList[i]!;
      const a = this.agree[id]!;
      if (a < this.minPackets) continue;
      const ratio = a / (a + this.disagree[id]!);
      if (ratio < this.minAgreeRatio) continue;
      let cross = false;
      if (this.multiSsrc[id]) {
        const ca = this.crossAgree[id]!;
        const cd = this.crossDisagree[id]!;
        cross = ca >= this.minCrossSsrc && ca / (ca + cd) >= this.minAgreeRatio;
        // no cross-SSRC evidence against the id: as good as a single-SSRC transport
        if (!cross && cd > 0) continue;
      }
      if (a > bestAgree || (a === bestAgree && id < best)) {
        best = id;
        bestAgree = a;
        bestRatio = ratio;
        bestCross = cross;
      }
    }
    this.hasCurrent = best > 0;
    if (this.hasCurrent) {
      this.current.extId = best;
      this.current.confidence = bestRatio;
      this.current.crossSsrcVerified = bestCross;
    }
  }
}
