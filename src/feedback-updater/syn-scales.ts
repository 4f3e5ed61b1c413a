/** SynScales: the clients' TCP window shifts from their handshakes, for the window clamp (window-clamp.ts). */
export interface SynScalesConfig {
  /** Most handshakes remembered (default 4096); beyond it the oldest is forgotten. */
  maxEntries?: number;
}

/**
 * The clients' window shifts, learnt from the handshakes (RFC 7323 2.2), by canonical flow hash.
 * A client SYN-ACK says it all (it may carry the option only if the sender's SYN did); after a
 * client SYN with the option, the sender's SYN-ACK decides (without the option, scaling is off).
 * Cold path: SYNs only. A resolved shift stays until take() hands it to a flow or the table
 * overflows. A hash collision between two concurrent handshakes would swap their shifts; with a
 * 32-bit hash and at most maxEntries handshakes that is about 1 in 10^6 at the bound.
 */
export class SynScales {
  /** hash -> shift (>= 0 resolved) or -(shift + 2) (client SYN with the option, waiting for the sender) */
  private readonly entries = new Map<number, number>();
  /** hash -> when the client's SYN went up (µs), for the handshake RTT of client-opened flows */
  private readonly synTUs = new Map<number, number>();
  private readonly maxEntries: number;

  constructor(config: SynScalesConfig = {}) {
    this.maxEntries = config.maxEntries ?? 4096;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A client SYN (isSynAck false) or SYN-ACK at tUs; `wscale` = its option's shift, -1 when absent. */
  onClientSyn(hash: number, isSynAck: boolean, wscale: number, tUs = -1): void {
    if (isSynAck || wscale < 0) this.putBounded(this.entries, hash, wscale >= 0 ? wscale : 0);
    else this.putBounded(this.entries, hash, -(wscale + 2));
    if (isSynAck || tUs < 0) this.synTUs.delete(hash);
    else this.putBounded(this.synTUs, hash, tUs);
  }

  /** When the client's SYN of this flow went up (µs), or -1; taken once. */
  takeSynTime(hash: number): number {
    const t = this.synTUs.get(hash);
    if (t === undefined) return -1;
    this.synTUs.delete(hash);
    return t;
  }

  /** A sender SYN-ACK (a sender SYN changes nothing: the client's SYN-ACK will tell). */
  onSenderSyn(hash: number, isSynAck: boolean, hasWscale: boolean): void {
    if (!isSynAck) return;
    const e = this.entries.get(hash);
    if (e === undefined || e >= 0) return;
    this.entries.set(hash, hasWscale ? -e - 2 : 0);
  }

  /** The resolved shift of the flow with this hash (removed from the table), or -1. */
  take(hash: number): number {
    const e = this.entries.get(hash);
    if (e === undefined || e < 0) return -1;
    this.entries.delete(hash);
    return e;
  }

  /** Sets `hash` as the newest entry of `map` (a new handshake of the same tuple replaces the old one), forgetting the oldest beyond maxEntries. */
  private putBounded(map: Map<number, number>, hash: number, value: number): void {
    map.delete(hash);
    map.set(hash, value);
    if (map.size > this.maxEntries) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  }
}
