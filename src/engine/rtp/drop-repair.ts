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

export class DropRepair {
  private copies: PacketCopies | undefined;
  private readonly pending: Uint8Array[] = [];

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
    this.pending.push(c.slice());
    this.counters.repair.queued++;
  }

  /** Moves the queued repairs to `out`. */
  drainInto(out: Uint8Array[]): void {
    for (const p of this.pending) out.push(p);
    this.pending.length = 0;
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
