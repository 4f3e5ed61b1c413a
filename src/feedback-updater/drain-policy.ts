/**
 * feedbackUpdater.mode 'drain' (drain-gate.ts; not the paper's rule): an ACK-carrying uplink
 * packet passes while the flow's queue is short, else waits in the flow's gate until poll()
 * finds the queue back at target (paced by the bytes the released ACKs acknowledge) or it waited
 * maxHoldMs. Applies to every treated flow (TCP, QUIC, SRTCP-delay). SYN/FIN/RST are never held
 * for the queue but never overtake a gated packet either.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../protocols/tcp.js';
import type { PacketView } from '../protocols/packet.js';
import type { AckDelayerConfig } from './ack-delayer.js';
import { DrainGate } from './drain-gate.js';
import type { GateRelease, PolicyDecision, QueueReadings, UplinkPolicies, UplinkPolicy, WindowStatus } from './uplink-policy.js';

/** Gated packets released because the queue was back at target / by maxHoldMs / because the gates were full (releaseOldest). */
export interface DrainCounters {
  gateReleasedQueue: number;
  gateReleasedMaxHold: number;
  gateReleasedOverflow: number;
}

export const zeroDrainCounters = (): DrainCounters => ({ gateReleasedQueue: 0, gateReleasedMaxHold: 0, gateReleasedOverflow: 0 });

export class DrainPolicy implements UplinkPolicy {
  get kind(): 'drain' {
    return 'drain';
  }

  /** the gate holds arrival times and acknowledged bytes only: the caller keeps the packets */
  readonly gate: DrainGate<null>;
  /** highest TCP ACK number seen uplink (-1: none yet), for the bytes a gated ACK frees */
  private lastTcpAck = -1;
  /** downlink bytes since the flow's previous uplink packet (what a non-TCP ACK acknowledges, roughly) */
  private downBytesSinceUp = 0;
  private release: GateRelease = () => {};
  private readonly onRelease = (_item: null, arrivalTUs: number): void => this.release(arrivalTUs);

  constructor(
    config: AckDelayerConfig,
    private readonly flowHash: number,
    private readonly counters: DrainCounters,
  ) {
    this.gate = new DrainGate<null>(config.drain);
  }

  get gated(): number {
    return this.gate.size;
  }

  onDownlink(_tUs: number, _v: PacketView, _data: Uint8Array, _totalMs: number, wireBytes: number): void {
    this.downBytesSinceUp += wireBytes;
  }

  onUplink(tUs: number, v: PacketView, _payload: Uint8Array, q: QueueReadings, out: PolicyDecision): PolicyDecision {
    let acked = 0;
    if (v.l4 === 'tcp') {
      if ((v.tcpFlags & TCP_ACK) !== 0) {
        const a = v.tcpAck >>> 0;
        if (this.lastTcpAck >= 0) {
          const d = (a - this.lastTcpAck) >>> 0;
          // a wrapped or stale ACK number (reordering) frees nothing
          if (d < 0x80000000) {
            acked = d;
            this.lastTcpAck = a;
          }
        } else this.lastTcpAck = a;
      }
    } else {
      acked = this.downBytesSinceUp;
    }
    this.downBytesSinceUp = 0;
    const control = v.l4 === 'tcp' && (v.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0;
    const g = this.gate;
    if (g.size === 0 && (control || g.tryPass(tUs, q.queueDelayMs(tUs, this.flowHash)))) {
      out.action = 'pass';
      return out;
    }
    g.push(tUs, null, control ? 0 : acked);
    out.action = 'gate';
    return out;
  }

  poll(tUs: number, q: QueueReadings, release: GateRelease): number {
    const g = this.gate;
    const queueMs = q.queueDelayMs(tUs, this.flowHash); // the flow's own queue under fq
    const capBefore = g.releasedByCap;
    this.release = release;
    const r = g.poll(tUs, queueMs, q.rateBps(this.flowHash), this.onRelease);
    const byCap = g.releasedByCap - capBefore;
    this.counters.gateReleasedMaxHold += byCap;
    this.counters.gateReleasedQueue += r - byCap;
    return r;
  }

  releaseOldest(n: number, release: GateRelease): number {
    this.release = release;
    const o = this.gate.releaseOldest(n, this.onRelease);
    this.counters.gateReleasedOverflow += o;
    return o;
  }

  flush(release: GateRelease): number {
    this.release = release;
    return this.gate.flush(this.onRelease);
  }

  windowStatus(): WindowStatus | undefined {
    return undefined;
  }
}

/** Mode 'drain': every flow gets a gate; the counters are the mode's. */
export class DrainPolicies implements UplinkPolicies {
  constructor(
    private config: AckDelayerConfig,
    readonly counters: DrainCounters,
  ) {}

  reconfigure(config: AckDelayerConfig): void {
    this.config = config;
  }

  newFlow(_tUs: number, flowHash: number): DrainPolicy {
    return new DrainPolicy(this.config, flowHash, this.counters);
  }

  onClientSyn(): void {}

  onSenderSyn(): void {}
}
