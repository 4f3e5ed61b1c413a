/**
 * Repairs a drop zhuge had reported as received (reportTiming 'departure'): keeps a copy of each
 * recorded downlink RTP packet (packet-copies.ts) under its ReportTiming slot, and when a later
 * departure of the transport shows the Wi-Fi queue dropped it after its report (report-timing.ts
 * rule 2), queues the copy to be sent again toward the client (poll() hands it out with the
 * feedback; the daemon's raw socket sends it, and it enters the Wi-Fi queue like any downlink
 * packet). Why: libwebrtc forgets acknowledged packets, so the receiver's NACK would go
 * unanswered (packet-copies.ts).
 *
 * The copy is the packet as it entered the AP. Behind NAT (the engine translated the view), its
 * destination address and port are rewritten to the client's and the checksums recomputed, once,
 * when it is stored.
 */
import { PacketCopies } from '../../feedback-updater/packet-copies.js';
import { readU16, readU32, writeU16, writeU32 } from '../../protocols/bytes.js';
import { fixIpPacketChecksums } from '../../protocols/checksum.js';
import type { PacketView } from '../../protocols/packet.js';
import type { RtpFeedbackCounters } from './rtp-feedback-counters.js';
import type { RtpTransport } from './rtp-transport.js';

/** Most repairs waiting for the next poll (a burst beyond is counted, not queued). */
const MAX_PENDING = 256;
/** Most copies followed until they leave (the oldest is no longer followed beyond). */
const MAX_INFLIGHT = 64;
/** Sends of one copy in all (the first and the retries). */
const MAX_SENDS = 4;
/** A copy is not sent again later than this after its first send: the receiver has asked for a key frame by then. */
const GIVE_UP_US = 2_000_000;
/** A packet that reached the AP this long after a copy was sent entered the queue behind it. */
const BEHIND_MARGIN_US = 5000;

/** One repair copy, queued or sent and not seen leaving yet. */
interface Repair {
  readonly t: RtpTransport;
  /** the engine's match key of the packet (0: none; not followed) */
  readonly key: number;
  readonly copy: Uint8Array;
  firstSentUs: number;
  sentUs: number;
  sends: number;
}

export class DropRepair {
  private copies: PacketCopies | undefined;
  private readonly pending: Repair[] = [];
  private readonly inflight: Repair[] = [];

  constructor(private readonly counters: RtpFeedbackCounters) {}

  /**
   * Keeps a copy of the packet `v` decoded from `buf` under ReportTiming slot `slot` of `t`
   * (needs the whole packet: a capture cut at its snap length is counted and not kept).
   */
  store(t: RtpTransport, slot: number, v: PacketView, buf: Uint8Array): void {
    const slots = t.timingSlots;
    if (slots === undefined) return;
    slots.copyRef[slot] = -1;
    const start = v.ipOffset;
    const end = start + v.ipTotalLength;
    if (v.truncated || end > buf.length) {
      this.counters.repair.notCopied++;
      return;
    }
    this.copies ??= new PacketCopies();
    const ref = this.copies.put(buf, start, end);
    if (ref < 0) {
      this.counters.repair.notCopied++;
      return;
    }
    slots.copyRef[slot] = ref;
    const c = this.copies.get(ref);
    if (c !== undefined) toClient(c, v);
  }

  /** The queue dropped slot `slot` of `t` after it was reported received: its copy is sent again. */
  repair(t: RtpTransport, slot: number): void {
    const ref = t.timingSlots?.copyRef[slot] ?? -1;
    const c = this.copies?.get(ref);
    if (c === undefined) {
      this.counters.repair.noCopy++;
      return;
    }
    if (this.pending.length >= MAX_PENDING) {
      this.counters.repair.overflow++;
      return;
    }
    const key = t.timingSlots?.matchKey[slot] ?? 0;
    this.pending.push({ t, key, copy: c.slice(), firstSentUs: Number.NaN, sentUs: Number.NaN, sends: 0 });
    this.counters.repair.queued++;
  }

  /** Moves the queued repairs to `out`, sent at tUs; each is then followed until it leaves. */
  drainInto(out: Uint8Array[], tUs: number): void {
    for (const r of this.pending) {
      out.push(r.copy);
      r.sends++;
      r.sentUs = tUs;
      if (Number.isNaN(r.firstSentUs)) r.firstSentUs = tUs;
      if (r.key === 0) continue;
      if (this.inflight.length >= MAX_INFLIGHT) this.inflight.shift();
      this.inflight.push(r);
    }
    this.pending.length = 0;
  }

  /** A downlink packet with this match key left the Wi-Fi queue: a copy that did is no longer followed. */
  departed(matchKey: number): void {
    if (this.inflight.length === 0 || matchKey === 0) return;
    const k = matchKey | 0;
    const i = this.inflight.findIndex((r) => r.key === k);
    if (i < 0) return;
    this.inflight.splice(i, 1);
    this.counters.repair.delivered++;
  }

  /**
   * A packet of `t` that entered the queue at arrivalUs left it at tUs. A copy of `t` sent
   * before that packet arrived and not seen leaving was dropped: sent again, or given up.
   */
  laterDeparted(t: RtpTransport, arrivalUs: number, tUs: number): void {
    for (let i = 0; i < this.inflight.length; ) {
      const r = this.inflight[i];
      if (r === undefined || r.t !== t || !(arrivalUs > r.sentUs + BEHIND_MARGIN_US)) {
        i++;
        continue;
      }
      this.inflight.splice(i, 1);
      if (r.sends < MAX_SENDS && tUs - r.firstSentUs < GIVE_UP_US && this.pending.length < MAX_PENDING) {
        this.pending.push(r);
        this.counters.repair.resent++;
      } else this.counters.repair.gaveUp++;
    }
  }

  /** The transport left the table: its copies are no longer followed or sent. */
  forget(t: RtpTransport): void {
    for (const list of [this.pending, this.inflight]) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]?.t === t) list.splice(i, 1);
    }
  }
}

/**
 * Writes the view's destination (the client, after the engine's NAT translation) into the copy
 * `c` (the IP packet from offset 0) when it differs, and recomputes its checksums.
 */
function toClient(c: Uint8Array, v: PacketView): void {
  const l4 = v.l4Offset - v.ipOffset;
  let changed = readU16(c, l4 + 2) !== v.dstPort;
  if (v.l3 === 'ipv4') {
    if (readU32(c, 16) !== v.dst0 >>> 0) changed = true;
    if (!changed) return;
    writeU32(c, 16, v.dst0 >>> 0);
  } else {
    if (readU32(c, 24) !== v.dst0 >>> 0 || readU32(c, 28) !== v.dst1 >>> 0 || readU32(c, 32) !== v.dst2 >>> 0 || readU32(c, 36) !== v.dst3 >>> 0) changed = true;
    if (!changed) return;
    writeU32(c, 24, v.dst0 >>> 0);
    writeU32(c, 28, v.dst1 >>> 0);
    writeU32(c, 32, v.dst2 >>> 0);
    writeU32(c, 36, v.dst3 >>> 0);
  }
  writeU16(c, l4 + 2, v.dstPort);
  fixIpPacketChecksums(c, 0);
}
