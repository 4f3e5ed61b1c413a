/**
 * Receive-window clamp (feedbackUpdater.mode 'window'; not the paper's rule): the AP lowers the
 * window field of a treated TCP flow's ACKs so that the sender may keep at most
 *
 *     share x (baseRtt + targetMs)        share = rateBps / 8 / activeFlows   (bytes)
 *
 * in flight, where rateBps is the Fortune Teller's dequeue-rate estimate of the Wi-Fi queue and
 * baseRtt the flow's RTT from the AP to the sender and back. The sender's excess window then
 * never leaves the sender, instead of waiting in the Wi-Fi queue in front of every other flow; a
 * queue of about targetMs stays to keep the link busy. This is the window TCP senders of every
 * congestion control already obey (RFC 9293 3.8.6: a sender MUST be robust against window
 * shrinking; Linux stops sending new data until the ACKs catch up).
 *
 * Principles:
 *  - Only lowers: the field written is min(the receiver's own window, the clamp). Flow control
 *    stays the receiver's; SYN segments (whose window is never scaled) are not touched.
 *  - Reacts at the speed of the rate estimate (a few ms after a bandwidth drop), not of the
 *    sender's RTT samples: no ACK is delayed, so the ACK clock and the RTT samples stay natural.
 *  - Unknown stays untouched: without the receiver's window scale (the flow started before the
 *    daemon, its SYN was not seen) or without an RTT (no TCP timestamps yet), the ACK passes as is.
 *  - baseRtt (pping's method, RFC 7323 timestamps): the time from a new TSval of the client
 *    passing uplink to its first echo (TSecr) in a downlink arrival is the RTT from the AP to the
 *    sender and back (the Wi-Fi hop excluded: its queue is what the clamp controls). The flow's
 *    minimum over rttWindowMs (10 s, like bbr's min_rtt filter) is used; a later echo of the
 *    same TSval (delayed ACKs, retransmissions) is no sample. The handshake gives one more sample,
 *    the only one of a client without timestamps (Windows by default): client SYN up to the
 *    sender's SYN-ACK down, or client SYN-ACK up to the sender's next segment down. Behind NAT
 *    the flow starts only once its alias is learnt, so that sample comes out too large: a looser
 *    clamp, never a tighter one.
 *  - activeFlows divides the queue's rate among the clamped flows that sent in the last epoch,
 *    weighted: total bytes / the largest flow's bytes (two equal bulk flows count 2; a bulk
 *    flow next to a 4 Mbit/s one on a 20 Mbit/s link counts 1.25), so a light flow does not
 *    halve a bulk flow's window. It is computed by the caller (ActiveShare, active-share.ts), O(1) per packet.
 *
 * Window scale (RFC 7323 2.2): the client's shift is in its SYN or SYN-ACK and applies only when
 * both SYNs carried the option (SynScales, syn-scales.ts). The SYNs usually come before the flow exists
 * (flows start with a downlink packet, and behind NAT only once the alias is learnt), so they are
 * kept in a small table of their own, keyed by the canonical 5-tuple hash, and a flow takes its
 * shift from there.
 *
 * Memory: 8 remembered TSvals per flow, 8 x (4 + 8) bytes, allocated on the first timestamp.
 */

export interface WindowClampConfig {
  /**
   * Queue delay the clamp leaves for the link to stay busy (ms, default 50). Read by the caller
   * and passed to clampField on every ACK, so a reload applies it to existing flows too.
   */
  targetMs?: number;
  /** The clamp never goes below this many bytes (default 6000, four 1500-byte segments); as targetMs. */
  minWindowBytes?: number;
  /** Window of the minimum filter on the RTT samples (ms, default 10 000). */
  rttWindowMs?: number;
}

export const WINDOW_CLAMP_DEFAULTS = { targetMs: 50, minWindowBytes: 6000, rttWindowMs: 10_000 } as const;

const TS_SLOTS = 8;

/** Why an ACK was not clamped. */
export type ClampSkip = 'no-scale' | 'no-rtt';

/** Per-flow state of the window clamp (pure: times are passed in). */
export class WindowClamp {
  /** the client's window shift: -1 until known */
  private shift = -1;
  private tsVal: Uint32Array | undefined;
  private tsTUs: Float64Array | undefined;
  private tsCount = 0;
  private tsNext = 0;
  private lastTsVal = -1;
  private minRttUs = -1;
  private minRttTUs = 0;
  private handshakeUpTUs = -1;
  private readonly rttWindowUs: number;
  /** samples taken (for tests and status) */
  rttSamples = 0;
  /** ACKs whose window the caller lowered (status) */
  clampedAcks = 0;

  constructor(config: WindowClampConfig = {}) {
    this.rttWindowUs = (config.rttWindowMs ?? WINDOW_CLAMP_DEFAULTS.rttWindowMs) * 1000;
  }

  /** The client's window shift, -1 while unknown. */
  get windowShift(): number {
    return this.shift;
  }

  /** The flow's base RTT beyond the AP (µs), -1 while unknown. */
  get baseRttUs(): number {
    return this.minRttUs;
  }

  /** Sets the client's window shift (from SynScales). */
  setWindowShift(shift: number): void {
    this.shift = shift;
  }

  /** An uplink segment carried TSval `tsVal` at tUs: remembered when new. */
  onUplinkTsVal(tUs: number, tsVal: number): void {
    if (tsVal === this.lastTsVal) return;
    this.lastTsVal = tsVal;
    let vals = this.tsVal;
    let times = this.tsTUs;
    if (vals === undefined || times === undefined) {
      vals = this.tsVal = new Uint32Array(TS_SLOTS);
      times = this.tsTUs = new Float64Array(TS_SLOTS);
    }
    vals[this.tsNext] = tsVal;
    times[this.tsNext] = tUs;
    this.tsNext = (this.tsNext + 1) % TS_SLOTS;
    if (this.tsCount < TS_SLOTS) this.tsCount++;
  }

  /**
   * A downlink segment echoed `tsEcr` at tUs. The first echo of a remembered TSval gives an RTT
   * sample (returned, µs); it and every older TSval are forgotten. Returns -1 otherwise.
   */
  onDownlinkTsEcr(tUs: number, tsEcr: number): number {
    const vals = this.tsVal;
    const times = this.tsTUs;
    if (vals === undefined || times === undefined) return -1;
    const echoed = tsEcr >>> 0;
    // newest first: the echo is normally of a recent TSval
    for (let k = 1; k <= this.tsCount; k++) {
      const i = (this.tsNext - k + TS_SLOTS) % TS_SLOTS;
      if (vals[i] !== echoed) continue;
      const rttUs = tUs - times[i]!;
      this.tsCount = k - 1; // this one and the older ones are spent
      if (rttUs < 0) return -1;
      this.addRttSample(tUs, rttUs);
      return rttUs;
    }
    return -1;
  }

  /**
   * An RTT sample taken at tUs (µs) into the minimum filter: from a timestamp echo, or from the
   * handshake (the only one a flow without TCP timestamps gets; it then stays, as no later sample
   * replaces it).
   */
  addRttSample(tUs: number, rttUs: number): void {
    if (!(rttUs >= 0)) return;
    this.rttSamples++;
    if (this.minRttUs < 0 || rttUs <= this.minRttUs || tUs - this.minRttTUs > this.rttWindowUs) {
      this.minRttUs = rttUs;
      this.minRttTUs = tUs;
    }
  }

  /**
   * The client's SYN-ACK went up at tUs (the flow exists: the sender opened it): the flow's next
   * downlink arrival (the sender's ACK of it) gives a handshake RTT sample (onDownlinkArrival).
   */
  onClientSynAckUp(tUs: number): void {
    this.handshakeUpTUs = tUs;
  }

  /** A downlink arrival of the flow at tUs: completes a pending handshake sample. */
  onDownlinkArrival(tUs: number): void {
    if (this.handshakeUpTUs < 0) return;
    this.addRttSample(tUs, tUs - this.handshakeUpTUs);
    this.handshakeUpTUs = -1;
  }

  /**
   * The window field for an ACK whose receiver advertised `field` (scaled units), given the
   * flow's share of the queue's dequeue rate (bytes/s), targetMs and minWindowBytes. Returns the
   * field to write (<= field), or a ClampSkip reason.
   */
  clampField(field: number, shareBytesPerS: number, targetMs: number, minWindowBytes: number): number | ClampSkip {
    if (this.shift < 0) return 'no-scale';
    if (this.minRttUs < 0) return 'no-rtt';
    const bytes = Math.max(minWindowBytes, shareBytesPerS * (this.minRttUs / 1e6 + targetMs / 1000));
    const clamp = Math.ceil(bytes / 2 ** this.shift);
    return clamp < field ? clamp : field;
  }
}
