/**
 * feedbackUpdater.mode 'increments' (the default, the paper's rule): each flow's AckDelayer
 * records the predicted-delay increments of its downlink packets and gives each uplink feedback
 * packet a release time (sampled increment, tokens, never before the flow's previous release).
 * SYN/FIN/RST pass at once but never overtake a held packet of their flow.
 */
import { TCP_FIN, TCP_RST, TCP_SYN } from '../protocols/tcp.js';
import type { PacketView } from '../protocols/packet.js';
import { AckDelayer, type AckDelayerConfig } from './ack-delayer.js';
import type { Rng } from './rng.js';
import type { PolicyDecision, QueueReadings, UplinkPolicies, UplinkPolicy, WindowStatus } from './uplink-policy.js';

export class IncrementsPolicy implements UplinkPolicy {
  // on the prototype: a flow's policy object stays two fields (memory per flow)
  get kind(): 'increments' {
    return 'increments';
  }

  get gated(): number {
    return 0;
  }

  constructor(
    readonly delayer: AckDelayer,
    private readonly rng: Rng,
  ) {}

  onDownlink(tUs: number, _v: PacketView, _data: Uint8Array, totalMs: number): void {
    this.delayer.onPrediction(tUs, totalMs);
  }

  onUplink(tUs: number, v: PacketView, _payload: Uint8Array, _q: QueueReadings, out: PolicyDecision): PolicyDecision {
    out.action = 'hold';
    out.releaseUs =
      v.l4 === 'tcp' && (v.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0 ? this.delayer.passThrough(tUs) : this.delayer.onUplink(tUs, this.rng);
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

  windowStatus(): WindowStatus | undefined {
    return undefined;
  }
}

/** The flows of mode 'increments' share the RNG the release times are drawn with. */
export class IncrementsPolicies implements UplinkPolicies {
  constructor(
    private config: AckDelayerConfig,
    private readonly rng: Rng,
  ) {}

  /** New flows get the new constants; existing flows keep theirs. */
  reconfigure(config: AckDelayerConfig): void {
    this.config = config;
  }

  newFlow(): IncrementsPolicy {
    return new IncrementsPolicy(new AckDelayer(this.config), this.rng);
  }

  onClientSyn(): void {}

  onSenderSyn(): void {}
}
