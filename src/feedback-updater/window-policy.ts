/**
 * feedbackUpdater.mode 'window' (window-clamp.ts; not the paper's rule): a TCP flow's ACKs are
 * never delayed; once the client's window shift and the flow's RTT beyond the AP are known, an
 * ACK's window is lowered to the flow's share of the queue's dequeue rate x (that RTT +
 * targetMs). Other flows (QUIC, whose window is encrypted; SRTCP-delay) keep the paper's rule.
 */
import { TCP_ACK, TCP_RST, TCP_SYN, setTcpWindow, tcpTsEcr, tcpTsVal } from '../protocols/tcp.js';
import type { PacketView } from '../protocols/packet.js';
import type { AckDelayerConfig } from './ack-delayer.js';
import { ActiveShare, type FlowShare } from './active-share.js';
import type { IncrementsPolicies } from './increments-policy.js';
import { SynScales } from './syn-scales.js';
import type { PolicyDecision, QueueReadings, UplinkPolicies, UplinkPolicy, WindowStatus } from './uplink-policy.js';
import { WINDOW_CLAMP_DEFAULTS, WindowClamp } from './window-clamp.js';

/** ACKs whose window was lowered / left as the receiver set it / passed untouched for want of the window scale or an RTT. */
export interface WindowCounters {
  windowClamped: number;
  windowUnchanged: number;
  windowNoScale: number;
  windowNoRtt: number;
}

export const zeroWindowCounters = (): WindowCounters => ({ windowClamped: 0, windowUnchanged: 0, windowNoScale: 0, windowNoRtt: 0 });

export class WindowPolicy implements UplinkPolicy, FlowShare {
  get kind(): 'window' {
    return 'window';
  }

  get gated(): number {
    return 0;
  }
  readonly clamp: WindowClamp;
  /** ActiveShare bookkeeping */
  shareEpoch = -1;
  shareBytes = 0;

  constructor(
    private readonly shared: WindowPolicies,
    private readonly flowHash: number,
    config: AckDelayerConfig,
  ) {
    this.clamp = new WindowClamp(config.window);
  }

  onDownlink(tUs: number, v: PacketView, data: Uint8Array, _totalMs: number, wireBytes: number): void {
    const clamp = this.clamp;
    clamp.onDownlinkArrival(tUs);
    if (v.tcpTsOffset >= 0 && (v.tcpFlags & TCP_ACK) !== 0) clamp.onDownlinkTsEcr(tUs, tcpTsEcr(data, v.tcpTsOffset));
    if (v.payloadLength > 0) this.shared.share.add(tUs, this, wireBytes);
  }

  onUplink(tUs: number, v: PacketView, payload: Uint8Array, q: QueueReadings, out: PolicyDecision): PolicyDecision {
    out.action = 'pass';
    const clamp = this.clamp;
    const shared = this.shared;
    const c = shared.counters;
    const flags = v.tcpFlags;
    if (v.tcpTsOffset >= 0) clamp.onUplinkTsVal(tUs, tcpTsVal(payload, v.tcpTsOffset));
    // the client's SYN-ACK of a flow the sender opened: the sender's next segment gives an RTT
    if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) clamp.onClientSynAckUp(tUs);
    if ((flags & TCP_ACK) === 0 || (flags & (TCP_SYN | TCP_RST)) !== 0) return out;
    if (clamp.windowShift < 0) {
      const shift = shared.synScales.take(this.flowHash);
      if (shift >= 0) clamp.setWindowShift(shift);
    }
    // read at every ACK: a reload applies to existing flows too
    const w = shared.config.window;
    const targetMs = w?.targetMs ?? WINDOW_CLAMP_DEFAULTS.targetMs;
    const minBytes = w?.minWindowBytes ?? WINDOW_CLAMP_DEFAULTS.minWindowBytes;
    const rateBps = q.rateBps(this.flowHash);
    const fairBps = q.fairShareBps(tUs, rateBps);
    const shareBytesPerS = fairBps >= 0 ? fairBps / 8 : rateBps / 8 / shared.share.flows(tUs);
    const field = clamp.clampField(v.tcpWindow, shareBytesPerS, targetMs, minBytes);
    if (field === 'no-scale') c.windowNoScale++;
    else if (field === 'no-rtt') c.windowNoRtt++;
    else if (field < v.tcpWindow) {
      setTcpWindow(payload, v.l4Offset, field);
      clamp.clampedAcks++;
      c.windowClamped++;
      out.action = 'rewrite';
    } else c.windowUnchanged++;
    return out;
  }

  poll(): number {
    return 0;
  }

  releaseOldest(): number {
    return 0;
  }

  flush(): number {
    return 0;
  }

  windowStatus(): WindowStatus {
    const c = this.clamp;
    return {
      shift: c.windowShift,
      baseRttMs: c.baseRttUs < 0 ? -1 : Math.round((c.baseRttUs / 1000) * 1000) / 1000,
      rttSamples: c.rttSamples,
      clampedAcks: c.clampedAcks,
    };
  }
}

/**
 * Mode 'window': TCP flows get a clamp, the others the paper's rule. Shared: the clients' window
 * shifts from the handshakes (SynScales: the SYNs come before the flow exists), the clamped
 * flows' weighted count (ActiveShare), the mode's counters.
 */
export class WindowPolicies implements UplinkPolicies {
  readonly synScales = new SynScales();
  readonly share = new ActiveShare();

  constructor(
    public config: AckDelayerConfig,
    readonly counters: WindowCounters,
    private readonly others: IncrementsPolicies,
  ) {}

  reconfigure(config: AckDelayerConfig): void {
    this.config = config;
  }

  newFlow(tUs: number, flowHash: number, isTcp: boolean): UplinkPolicy {
    if (!isTcp) return this.others.newFlow();
    const p = new WindowPolicy(this, flowHash, this.config);
    // a flow the client opened: its SYN went up before the flow existed; the arrival creating the
    // flow (the sender's SYN-ACK when routed) completes the handshake RTT
    const synT = this.synScales.takeSynTime(flowHash);
    if (synT >= 0) p.clamp.addRttSample(tUs, tUs - synT);
    return p;
  }

  onClientSyn(tUs: number, flowHash: number, v: PacketView): void {
    this.synScales.onClientSyn(flowHash, (v.tcpFlags & TCP_ACK) !== 0, v.tcpWscale, tUs);
  }

  onSenderSyn(flowHash: number, v: PacketView): void {
    this.synScales.onSenderSyn(flowHash, (v.tcpFlags & TCP_ACK) !== 0, v.tcpWscale >= 0);
  }
}
