/**
 * Copies of the last downlink RTP packets, so that zhuge can send again a packet the Wi-Fi queue
 * dropped after zhuge had reported it received (report-timing.ts, rule 2).
 *
 * Why (docs/results/rtc-evidence.md, "Second round", finding 3): libwebrtc forgets a packet from
 * its retransmission history once transport-wide feedback acknowledges it, so the receiver's NACK
 * for a packet zhuge reported received, and the queue then dropped, goes unanswered and the video
 * freezes until the next key frame. zhuge holds the packet's bytes (as they entered the AP, the
 * encrypted SRTP payload untouched: the receiver never got this index, so its replay window takes
 * it) and sends them again, like a link-layer retransmission.
 *
 * Preallocated (`slots` x `slotBytes`), no allocation per packet; the oldest copy is overwritten.
 * A ref (generation << 16 | slot) names a copy until its slot is reused.
 */
export class PacketCopies {
  readonly slots: number;
  readonly slotBytes: number;
  private readonly bytes: Uint8Array;
  private readonly length: Uint16Array;
  private readonly gen: Uint16Array;
  private next = 0;

  constructor(slots = 1024, slotBytes = 1536) {
    if (!(slots >= 1 && slots <= 0x10000 && Number.isInteger(slots))) throw new RangeError('PacketCopies: slots must be 1..65536');
    if (!(slotBytes >= 64 && slotBytes <= 0xffff && Number.isInteger(slotBytes))) throw new RangeError('PacketCopies: slotBytes must be 64..65535');
    this.slots = slots;
    this.slotBytes = slotBytes;
    this.bytes = new Uint8Array(slots * slotBytes);
    this.length = new Uint16Array(slots);
    this.gen = new Uint16Array(slots);
  }

  /** Copies src[start, end) into the next slot; returns its ref, or -1 when longer than a slot. */
  put(src: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n <= 0 || n > this.slotBytes || start < 0 || end > src.length) return -1;
    const i = this.next;
    this.next = i + 1 === this.slots ? 0 : i + 1;
    this.bytes.set(src.subarray(start, end), i * this.slotBytes);
    this.length[i] = n;
    const g = ((this.gen[i] ?? 0) + 1) & 0x7fff;
    this.gen[i] = g;
    return (g << 16) | i;
  }

  /** The copy a ref names (a view, valid until the slot is reused), or undefined when overwritten. */
  get(ref: number): Uint8Array | undefined {
    if (ref < 0) return undefined;
    const i = ref & 0xffff;
    if (i >= this.slots || (this.gen[i] ?? 0) !== ref >>> 16) return undefined;
    const o = i * this.slotBytes;
    return this.bytes.subarray(o, o + (this.length[i] ?? 0));
  }
}
