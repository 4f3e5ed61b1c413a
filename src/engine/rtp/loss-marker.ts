/**
 * Losses at the AP: the eth tap sees every packet arrive, including those the Wi-Fi queue later
 * drops, and records them with a predicted arrival. A mark reports such a packet as not received
 * IF it comes before the feedback that covers it is built: the built feedback is then edited
 * (the delta of the removed packet is carried to the next received one, so no other arrival time
 * moves). Marks still pending after a build are too late (counted `lostTooLate`): the sender was
 * already told the packet arrived.
 *
 * Marks by transport-wide sequence number (TWCC mode) or by the engine's packetMatchKey: a ring of
 * the last 1024 recorded packets maps a match key to its transport, transport-wide sequence
 * number, SSRC and RTP sequence number.
 */
import type { CcfbReport, TwccFeedback } from '../../protocols/feedback-types.js';
import type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
import type { RtpTransport } from './rtp-transport.js';

/** Most pending marks per transport and format. */
const MAX_LOST_MARKS = 1024;
/** Recorded packets remembered by match key (a power of two). */
const LOST_RING = 1024;

export class LossMarker {
  private readonly ringKey = new Int32Array(LOST_RING);
  private readonly ringSeq = new Int32Array(LOST_RING);
  private readonly ringSsrc = new Float64Array(LOST_RING);
  private readonly ringRtpSeq = new Int32Array(LOST_RING);
  private readonly ringTransport: Array<RtpTransport | undefined> = new Array<RtpTransport | undefined>(LOST_RING).fill(undefined);
  /** reportTiming 'departure': the packet's ReportTiming handle (-1: none) */
  private readonly ringHandle = new Int32Array(LOST_RING).fill(-1);
  /**
   * How many ring entries carry each low 16 bits of a match key: every departure of the Wi-Fi
   * queue asks departedByMatchKey, and almost all of them are not RTP — one array read says so.
   */
  private readonly keyFilter = new Uint16Array(65536);
  private ringPos = 0;
  /** the transport whose departure is being handled (the repair sink's context) */
  private departing: RtpTransport | undefined;
  private readonly droppedAfterReport = (slot: number): void => {
    if (this.departing !== undefined) this.onDroppedAfterReport?.(this.departing, slot);
  };
  /** reportTiming 'departure': a packet reported received was dropped (its ReportTiming slot) */
  onDroppedAfterReport: ((t: RtpTransport, slot: number) => void) | undefined;
  /** reportTiming 'departure': a recorded packet of `t` that entered the queue at arrivalUs left it at tUs */
  onDeparted: ((t: RtpTransport, arrivalUs: number, tUs: number) => void) | undefined;

  constructor(private readonly counters: RtpFeedbackCounters) {}

  /** A packet of `t` was recorded under the engine's match key (non-zero). */
  remember(matchKey: number, t: RtpTransport, transportSeq: number, ssrc: number, rtpSeq: number, handle = -1): void {
    const i = this.ringPos;
    if (this.ringTransport[i] !== undefined) this.unfilter(i);
    this.ringKey[i] = matchKey | 0;
    this.ringHandle[i] = handle;
    this.keyFilter[matchKey & 0xffff] = (this.keyFilter[matchKey & 0xffff] ?? 0) + 1;
    this.ringSeq[i] = transportSeq;
    this.ringSsrc[i] = ssrc;
    this.ringRtpSeq[i] = rtpSeq;
    this.ringTransport[i] = t;
    this.ringPos = (i + 1) & (LOST_RING - 1);
  }

  /** The transport left the table: its remembered packets can no longer be marked. */
  forget(t: RtpTransport): void {
    for (let i = 0; i < LOST_RING; i++) if (this.ringTransport[i] === t) this.clear(i);
  }

  private unfilter(i: number): void {
    const f = (this.ringKey[i] ?? 0) & 0xffff;
    const n = this.keyFilter[f] ?? 0;
    if (n > 0) this.keyFilter[f] = n - 1;
  }

  private clear(i: number): void {
    this.unfilter(i);
    this.ringTransport[i] = undefined;
  }

  /** The ring index of the most recent packet recorded under this match key, or -1. */
  private find(matchKey: number): number {
    if (matchKey === 0 || this.keyFilter[matchKey & 0xffff] === 0) return -1;
    const k = matchKey | 0;
    for (let n = 1; n <= LOST_RING; n++) {
      const i = (this.ringPos - n) & (LOST_RING - 1);
      if (this.ringTransport[i] !== undefined && this.ringKey[i] === k) return i;
    }
    return -1;
  }

  /** reportTiming 'departure': the packet with this match key left the Wi-Fi queue at tUs. */
  departedByMatchKey(matchKey: number, tUs: number): boolean {
    const i = this.find(matchKey);
    if (i < 0) return false;
    const t = this.ringTransport[i];
    const h = this.ringHandle[i] ?? -1;
    this.clear(i);
    if (t?.timing === undefined || h < 0) return false;
    const arrivalUs = t.timing.arrivalUsOf(h);
    this.departing = t;
    t.timing.departed(h, tUs, this.droppedAfterReport);
    this.departing = undefined;
    if (!Number.isNaN(arrivalUs)) this.onDeparted?.(t, arrivalUs, tUs);
    return true;
  }

  /** Marks transport-wide sequence number `transportSeq16` of `t` (TWCC mode) lost. */
  markLost(t: RtpTransport, transportSeq16: number): boolean {
    if (t.mode !== 'twcc' || t.lostTwcc.size >= MAX_LOST_MARKS) return false;
    t.lostTwcc.add(transportSeq16 & 0xffff);
    this.counters.lostMarked++;
    return true;
  }

  /** Marks the recorded packet with this match key lost (looks back over the last 1024 recorded). */
  markLostByMatchKey(matchKey: number): boolean {
    const i = this.find(matchKey);
    if (i < 0) return false;
    const t = this.ringTransport[i];
    const h = this.ringHandle[i] ?? -1;
    if (t !== undefined && t.timing !== undefined && h >= 0) {
      // reportTiming 'departure': the packet is reported not received when its turn comes; the
      // entry stays, so that its departure still reaches ReportTiming if the mark was a guess
      // gone wrong (drop attribution picks the most recent arrivals)
      t.timing.lost(h);
      this.counters.lostMarked++;
      return true;
    }
    this.clear(i);
    if (t === undefined) return false;
    if (t.mode === 'twcc' && (this.ringSeq[i] ?? -1) >= 0) {
      if (t.lostTwcc.size >= MAX_LOST_MARKS) return false;
      t.lostTwcc.add(this.ringSeq[i] ?? 0);
    } else if (t.mode === 'ccfb') {
      if (t.lostCcfb.size >= MAX_LOST_MARKS) return false;
      t.lostCcfb.add((this.ringSsrc[i] ?? 0) * 65536 + (this.ringRtpSeq[i] ?? 0));
    } else return false;
    this.counters.lostMarked++;
    return true;
  }

  /** Removes marked-lost packets from a built TWCC feedback, carrying their deltas to the next received one. */
  applyTwcc(t: RtpTransport, fb: TwccFeedback): void {
    if (t.lostTwcc.size === 0) return;
    let carry = 0;
    const d = fb.deltas;
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      if (x === null || x === undefined) continue;
      const seq = (fb.baseSeq + i) & 0xffff;
      if (t.lostTwcc.delete(seq)) {
        carry += x;
        d[i] = null;
      } else if (carry !== 0) {
        const y = x + carry;
        d[i] = y < -0x8000 ? -0x8000 : y > 0x7fff ? 0x7fff : y;
        carry = 0;
      }
    }
  }

  /** Reports marked-lost packets of a built CCFB report as not received. */
  applyCcfb(t: RtpTransport, r: CcfbReport): void {
    if (t.lostCcfb.size === 0) return;
    for (const b of r.streams) {
      for (let i = 0; i < b.metrics.length; i++) {
        const m = b.metrics[i]!;
        if (m.received && t.lostCcfb.delete(b.ssrc * 65536 + ((b.beginSeq + i) & 0xffff))) {
          b.metrics[i] = { received: false, ecn: 0, atoUnits: 0 };
        }
      }
    }
  }

  /** After a build: the marks left did not match anything built in time. */
  tooLate(marks: Set<number>): void {
    this.counters.lostTooLate += marks.size;
    marks.clear();
  }
}
