/**
 * The engine: what the daemon does with each observed or intercepted packet, with no I/O.
 *
 * Principles (the hot path of the daemon runs here):
 *  - Downlink packets are never touched, only observed: every packet the eth tap sees entering
 *    the Wi-Fi queue feeds the one Fortune Teller of that queue (all flows' bytes count, so a
 *    flow's prediction includes the other flows' bytes ahead of it); packets of treated flows
 *    then feed their flow's Feedback Updater with the predicted total delay.
 *  - Uplink packets of treated flows (TCP ACKs, QUIC packets carrying ACK frames) are given a
 *    release time by the flow's ordered scheduler; SYN/FIN/RST pass at once but never overtake
 *    held packets of their flow; anything unparsable or untracked is accepted at once.
 *  - Nothing here throws on traffic: malformed packets are counted by reason and passed.
 *  - No allocation per packet on the common path: one reusable PacketView per direction, flows
 *    looked up by a 32-bit canonical hash and confirmed field by field (a hash collision leaves
 *    the second flow untreated and is counted, never mixes flows).
 *  - NAT on the AP (a home router masquerading its Wi-Fi clients): the eth tap sees a downlink
 *    packet before de-NAT (to the AP's public address and the mapped port), the wlan tap and
 *    NFQUEUE see the client's own address:port. The taps' match keys leave addresses and ports
 *    out (packetMatchKey), and a departure to a client that matches an arrival to a non-client
 *    address teaches a public -> private tuple alias (NatAliases below). Arrivals of an aliased
 *    tuple are then translated in the view (as if routed): flows, RTP transports and the
 *    feedback built are all keyed by the client's private tuple, so uplink packets meet them and
 *    zhuge's feedback leaves from the client's address:port (conntrack SNATs it like the client's
 *    own). Until a tuple is aliased (the first packets of a flow) its arrivals are neither fed to
 *    the queue model nor treated: the AP's own traffic looks the same and never enters the queue.
 * Time is the daemon's monotonic µs clock, passed in by the caller.
 */
import {
  AckDelayer,
  ActiveShare,
  FqShare,
  SynScales,
  WindowClamp,
  WINDOW_CLAMP_DEFAULTS,
  seededRng,
  type DrainGate,
  type AckDelayerConfig,
  type Rng,
} from '../feedback-updater/index.js';
import { FortuneTeller, type FortuneTellerConfig, type Prediction } from '../fortune-teller/index.js';
import { ParseError, type MalformedReason } from '../protocols/errors.js';
import {
  canonicalFlowHash,
  flowHash,
  flowKeyEquals,
  flowKeyFromView,
  flowKeyHash,
  flowKeyToString,
  newFlowKey,
  packetMatchKey,
  viewMatchesFlowKey,
  type FlowKey,
} from '../protocols/flow-key.js';
import { decodePacket, newPacketView, type LinkType, type PacketView } from '../protocols/packet.js';
import { looksLikeQuicLong } from '../protocols/quic.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, setTcpWindow, tcpTsEcr, tcpTsVal } from '../protocols/tcp.js';
import { FlowTable, type EvictCause } from './flow-table.js';
import { RtpFeedback, type RtpFeedbackConfig } from './rtp-feedback.js';

export type FlowProtocol = 'tcp' | 'quic' | 'rtp';
export type FlowMode = 'ack-delay' | 'passthrough';

export interface EngineOptions {
  tcp: { enabled: boolean; ports: readonly number[] };
  quic: { enabled: boolean; ports: readonly number[] };
  /** DSCP values (0..63) to treat; empty = any. */
  dscp: readonly number[];
  /**
   * Downlink destination (client) filter; undefined = every client (then no NAT handling). A
   * downlink arrival to another address (the AP's own, behind NAT) is translated with a learnt
   * alias, or left out until one is learnt (see the file comment).
   */
  isClient?: (v: PacketView) => boolean;
  idleTimeoutMs: number;
  maxFlows: number;
  fortuneTeller: FortuneTellerConfig;
  feedbackUpdater: AckDelayerConfig & { seed: number };
  /** in-band feedback for RTP transports (TWCC / RFC 8888 rebuilt at the AP); absent = off */
  rtp?: RtpFeedbackConfig;
  /**
   * The AP queue's byte limit (a bfifo's `limit`); 0 = unknown. A packet arriving when the tracked
   * backlog plus its length exceeds it is dropped by the kernel at enqueue: it is not added to the
   * queue model and, on an RTP transport, reported as not received in the rebuilt feedback.
   */
  queueLimitBytes?: number;
  /**
   * Most packets all drain gates may hold together (default: unbounded). The daemon sets it
   * below the NFQUEUE length: a full kernel queue accepts new packets unseen (fail-open), and
   * they would overtake the gated ones. Beyond it the oldest gated packets go first.
   */
  maxGatedPackets?: number;
}

export interface Flow {
  readonly key: FlowKey; // downlink direction: server -> client
  readonly hash: number;
  readonly protocol: FlowProtocol;
  mode: FlowMode;
  readonly delayer: AckDelayer;
  /** uplink packets waiting for release */
  pending: number;
  downPackets: number;
  upPackets: number;
  heldPackets: number;
  addedDelaySumUs: number;
  lastTotalMs: number;
  lastQLongMs: number;
  lastQShortMs: number;
  lastTxMs: number;
  createdUs: number;
  /** highest TCP ACK number seen uplink (-1: none yet), for the bytes a drain-gated ACK frees */
  lastTcpAck: number;
  /** downlink bytes since the flow's previous uplink packet (what a non-TCP ACK acknowledges, roughly) */
  downBytesSinceUp: number;
  /** feedbackUpdater.mode 'window', TCP flows: the receive-window clamp */
  readonly clamp: WindowClamp | undefined;
  /** ActiveShare bookkeeping (mode 'window') */
  shareEpoch: number;
  shareBytes: number;
}

/**
 * 'gate': the packet was stored in its flow's drain gate (feedbackUpdater.mode 'drain'); it
 * leaves through pollGates() or flushGates(), which hand back the item given to onUplink.
 */
export type UplinkVerdict = 'accept' | 'hold' | 'drop' | 'rewrite' | 'gate';

export interface UplinkDecision {
  verdict: UplinkVerdict;
  /** release time (µs) when held */
  releaseUs: number;
  /** the flow the packet belongs to, when tracked (for onReleased) */
  flow: Flow | undefined;
  /** verdict 'rewrite': the replacement IP packet */
  payload: Uint8Array | undefined;
}

export type ProtocolLabel = 'tcp' | 'udp' | 'quic' | 'rtp' | 'other';

export interface EngineCounters {
  downlinkArrivals: Record<ProtocolLabel, number>;
  downlinkDepartures: number;
  uplink: Record<ProtocolLabel, number>;
  malformed: Record<MalformedReason, number>;
  uplinkHeld: number;
  uplinkPassedAtOnce: number;
  /** downlink packets predicted dropped by the AP queue (full at arrival) */
  predictedQueueDrops: number;
  /** kernel queue drops attributed to recent arrivals (onKernelDrops) */
  kernelDropsAttributed: number;
  /** client feedback removed (dropped or rewritten without its TWCC/CCFB part) */
  uplinkDropped: number;
  uplinkRewritten: number;
  uplinkUntracked: number;
  flowsCreated: number;
  flowsEvictedIdle: number;
  flowsEvictedCapacity: number;
  hashCollisions: number;
  /** NAT: public -> private tuple aliases confirmed (learnt or changed) */
  natAliasesLearnt: number;
  /** NAT: downlink arrivals translated to the client's private tuple */
  natTranslated: number;
  /** NAT: downlink arrivals to a non-client address without an alias (not fed to the queue model) */
  natUnresolved: number;
  /** NAT: departures that matched an unresolved arrival (alias evidence) */
  natEvidence: number;
  /** NAT: alias table hash collisions (the newcomer stays unaliased) */
  natAliasCollisions: number;
  /** unexpected exceptions from the engine itself (bugs), caught so traffic never stops */
  internalErrors: number;
  /** drain mode: gated packets released because the queue was back at target / by maxHoldMs / because the gates were full */
  gateReleasedQueue: number;
  gateReleasedMaxHold: number;
  gateReleasedOverflow: number;
  /** mode 'window': ACKs whose window was lowered / left as the receiver set it / passed untouched for want of the window scale or an RTT */
  windowClamped: number;
  windowUnchanged: number;
  windowNoScale: number;
  windowNoRtt: number;
}

export interface EngineObserver {
  onPrediction?(p: Prediction): void;
  onAddedDelay?(addedDelayUs: number): void;
  /** called the first time a malformed reason is seen (a log line, never per packet) */
  onFirstMalformed?(reason: MalformedReason, what: string, direction: 'downlink' | 'uplink'): void;
  onInternalError?(err: unknown): void;
}

const EMPTY_MALFORMED = (): Record<MalformedReason, number> => ({
  truncated: 0,
  'bad-version': 0,
  'bad-length': 0,
  'bad-header': 0,
  'bad-checksum': 0,
  unsupported: 0,
});

const RECENT = 256;

const ZERO_PROTO = (): Record<ProtocolLabel, number> => ({ tcp: 0, udp: 0, quic: 0, rtp: 0, other: 0 });

export class Engine {
  /** replaced by reconfigure() when its constants change */
  ft: FortuneTeller;
  readonly flows: FlowTable<number, Flow>;
  /** the in-band path (undefined when RTP treatment is off) */
  rtp: RtpFeedback | undefined;
  readonly counters: EngineCounters = {
    downlinkArrivals: ZERO_PROTO(),
    downlinkDepartures: 0,
    uplink: ZERO_PROTO(),
    malformed: EMPTY_MALFORMED(),
    uplinkHeld: 0,
    uplinkPassedAtOnce: 0,
    predictedQueueDrops: 0,
    kernelDropsAttributed: 0,
    uplinkDropped: 0,
    uplinkRewritten: 0,
    uplinkUntracked: 0,
    flowsCreated: 0,
    flowsEvictedIdle: 0,
    flowsEvictedCapacity: 0,
    hashCollisions: 0,
    natAliasesLearnt: 0,
    natTranslated: 0,
    natUnresolved: 0,
    natEvidence: 0,
    natAliasCollisions: 0,
    internalErrors: 0,
    gateReleasedQueue: 0,
    gateReleasedMaxHold: 0,
    gateReleasedOverflow: 0,
    windowClamped: 0,
    windowUnchanged: 0,
    windowNoScale: 0,
    windowNoRtt: 0,
  };
  /** NAT public -> private tuple aliases (empty when the AP routes) */
  readonly nat: NatAliases;
  private opts: EngineOptions;
  private tcpPorts: Set<number>;
  private quicPorts: Set<number>;
  private dscp: Set<number>;
  private readonly rng: Rng;
  /** flows with packets in their drain gate */
  private readonly gatedFlows = new Set<Flow>();
  /** gated packets of evicted flows, released at the next poll */
  private orphans: unknown[] = [];
  /** packets in all drain gates */
  private gatedTotal = 0;
  /** mode 'window': clients' window shifts from the handshakes, and the clamped flows' weighted count */
  readonly synScales = new SynScales();
  private readonly share = new ActiveShare();
  /** fortuneTeller.discipline 'fq' (queue.discipline): every flow's offered rate, for the clamp's max-min fair share */
  private fq: FqShare | undefined;
  private readonly down: PacketView = newPacketView();
  private readonly dep: PacketView = newPacketView();
  private readonly up: PacketView = newPacketView();
  private readonly seenMalformed = new Set<string>();
  private lastPrediction: Prediction | undefined;
  // the most recent downlink arrivals (time, match key), for drops the kernel reports in bulk
  private readonly recentKey = new Int32Array(RECENT);
  private readonly recentT = new Float64Array(RECENT);
  private recentPos = 0;

  constructor(
    opts: EngineOptions,
    private readonly observer: EngineObserver = {},
  ) {
    this.opts = opts;
    this.tcpPorts = new Set(opts.tcp.ports);
    this.quicPorts = new Set(opts.quic.ports);
    this.dscp = new Set(opts.dscp);
    this.ft = this.newFortuneTeller(opts.fortuneTeller);
    // fortuneTeller.discipline 'fq' (per-flow fair queues): the Fortune Teller predicts each flow's
    // own queue, and the window clamp's share is the max-min fair share among every flow offering
    // data to the queue (FqShare), treated or not, instead of the rate divided among the clamped flows
    this.fq = opts.fortuneTeller.discipline === 'fq' ? new FqShare() : undefined;
    this.rng = seededRng(opts.feedbackUpdater.seed);
    this.rtp = opts.rtp !== undefined ? new RtpFeedback(opts.rtp) : undefined;
    this.flows = new FlowTable<number, Flow>(
      { maxFlows: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 },
      (_k, f, cause: EvictCause) => {
        if (cause === 'idle') this.counters.flowsEvictedIdle++;
        else this.counters.flowsEvictedCapacity++;
        // a gated packet of an evicted flow leaves at the next poll
        const g = f.delayer.drain;
        if (g !== undefined && g.size > 0) {
          this.gatedTotal -= g.flush((item) => this.orphans.push(item));
          this.gatedFlows.delete(f);
        }
      },
    );
    this.nat = new NatAliases({ maxAliases: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 }, this.counters);
  }

  /**
   * Applies a reloaded configuration. Classification and table bounds change at once; the
   * Fortune Teller keeps its learned state unless its constants changed (then it restarts).
   * Existing flows keep their Feedback Updater state; new flows get the new constants.
   */
  reconfigure(opts: EngineOptions): void {
    this.opts = opts;
    this.tcpPorts = new Set(opts.tcp.ports);
    this.quicPorts = new Set(opts.quic.ports);
    this.dscp = new Set(opts.dscp);
    if (JSON.stringify(opts.fortuneTeller) !== JSON.stringify(this.ft.config)) this.ft = this.newFortuneTeller(opts.fortuneTeller);
    if (opts.fortuneTeller.discipline !== 'fq') this.fq = undefined;
    else this.fq ??= new FqShare();
    this.flows.reconfigure({ maxFlows: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 });
    this.nat.reconfigure({ maxAliases: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 });
    if (opts.rtp === undefined) this.rtp = undefined;
    else if (this.rtp === undefined) this.rtp = new RtpFeedback(opts.rtp);
    else this.rtp.reconfigure(opts.rtp);
  }

  private newFortuneTeller(c: FortuneTellerConfig): FortuneTeller {
    const ft = new FortuneTeller(c);
    // a packet the AP queue dropped must be reported lost, not received at its predicted time
    ft.queue.onRetire = (key) => {
      this.rtp?.markLostByMatchKey(key);
    };
    return ft;
  }

  get options(): EngineOptions {
    return this.opts;
  }

  // ---------------------------------------------------------------- downlink (observed) ----

  /** A packet entered the Wi-Fi queue (eth tap, inbound). `wireBytes`: its length on the wire. */
  onDownlinkArrival(tUs: number, data: Uint8Array, linkType: LinkType, wireBytes: number): void {
    const v = this.down;
    let key = 0;
    let decoded = true;
    try {
      decodePacket(data, linkType, v);
      key = packetMatchKey(v, data);
    } catch (err) {
      decoded = false;
      this.malformed(err, 'downlink');
    }
    try {
      const isClient = this.opts.isClient;
      if (decoded && isClient !== undefined && !isClient(v) && !this.nat.translate(tUs, v, key)) {
        // to the AP itself: NATed downlink whose alias is not known yet, or the AP's own traffic
        // (never queued on wlan): kept as alias evidence only
        this.counters.natUnresolved++;
        this.nat.remember(tUs, v, key);
        return;
      }
      // per-flow fair queues: every flow, treated or not, has a queue of its own
      let fh = 0;
      if (decoded && this.fq !== undefined) {
        fh = canonicalFlowHash(v);
        this.fq.add(tUs, fh, wireBytes);
      }
      const limit = this.opts.queueLimitBytes ?? 0;
      const willDrop = limit > 0 && this.ft.queue.bytesInQueue + wireBytes > limit;
      if (willDrop) this.counters.predictedQueueDrops++;
      else this.ft.onArrival(tUs, wireBytes, key, fh);
      this.recentKey[this.recentPos] = key | 0;
      this.recentT[this.recentPos] = tUs;
      this.recentPos = (this.recentPos + 1) % RECENT;
      const p = this.ft.predict(tUs, 0, undefined, fh);
      this.lastPrediction = p;
      this.observer.onPrediction?.(p);
      if (!decoded) {
        this.counters.downlinkArrivals.other++;
        return;
      }
      const flow = this.classifyDownlink(tUs, v, data, willDrop ? Number.POSITIVE_INFINITY : p.totalMs, key);
      if (flow === undefined) return;
      flow.downPackets++;
      flow.downBytesSinceUp += wireBytes;
      flow.lastTotalMs = p.totalMs;
      flow.lastQLongMs = p.qLongMs;
      flow.lastQShortMs = p.qShortMs;
      flow.lastTxMs = p.txMs;
      const clamp = flow.clamp;
      if (clamp !== undefined) {
        clamp.onDownlinkArrival(tUs);
        if (v.tcpTsOffset >= 0 && (v.tcpFlags & TCP_ACK) !== 0) clamp.onDownlinkTsEcr(tUs, tcpTsEcr(data, v.tcpTsOffset));
        if (v.payloadLength > 0) this.share.add(tUs, flow, wireBytes);
        return;
      }
      // the delta window feeds the reference rule only; a drain gate reads the queue itself
      if (flow.mode === 'ack-delay' && flow.delayer.drain === undefined) flow.delayer.onPrediction(tUs, p.totalMs);
    } catch (err) {
      this.internalError(err);
    }
  }

  /** A packet left the Wi-Fi queue (wlan tap, outbound). Returns the matched arrival (µs) or -1. */
  onDownlinkDeparture(tUs: number, data: Uint8Array, linkType: LinkType, wireBytes: number): number {
    const v = this.dep;
    let key = 0;
    let decoded = true;
    try {
      decodePacket(data, linkType, v);
      key = packetMatchKey(v, data);
    } catch {
      // counted once, at its arrival; an unmatched key retires nothing wrongly: the model
      // falls back on byte accounting
      decoded = false;
    }
    try {
      this.counters.downlinkDepartures++;
      // mode 'window': the sender's SYN-ACK, taken where NAT has already been undone
      if (decoded && v.l4 === 'tcp' && (v.tcpFlags & TCP_SYN) !== 0 && this.opts.feedbackUpdater.mode === 'window') {
        this.synScales.onSenderSyn(canonicalFlowHash(v), (v.tcpFlags & TCP_ACK) !== 0, v.tcpWscale >= 0);
      }
      if (decoded && this.nat.pendingEvidence > 0) {
        const isClient = this.opts.isClient;
        if (isClient !== undefined && isClient(v)) this.nat.learn(tUs, v, key);
      }
      return this.ft.onDeparture(tUs, wireBytes, key);
    } catch (err) {
      this.internalError(err);
      return -1;
    }
  }

  /** The kernel's backlog of the Wi-Fi queue (rtnetlink), to resync the tap-tracked model. */
  onBacklogSample(tUs: number, bytes: number, packets: number): void {
    try {
      this.ft.onBacklogSample(tUs, bytes, packets);
    } catch (err) {
      this.internalError(err);
    }
  }

  private classifyDownlink(tUs: number, v: PacketView, data: Uint8Array, totalMs: number, key: number): Flow | undefined {
    if (v.l4 === 'tcp') {
      this.counters.downlinkArrivals.tcp++;
      const o = this.opts;
      if (!o.tcp.enabled || !this.treatable(v, this.tcpPorts, v.srcPort)) return undefined;
      // a flow starts with any packet; SYN/FIN/RST do not end it early: the idle timeout does
      return this.lookupOrCreate(tUs, v, 'tcp');
    }
    if (v.l4 === 'udp') {
      const existing = this.lookup(tUs, v);
      if (existing !== undefined && existing.protocol === 'quic') {
        this.counters.downlinkArrivals.quic++;
        return existing;
      }
      // RTP transports: predicted arrival times recorded for the feedback zhuge builds; with the
      // SRTCP fallback the transport also gets an ACK-delay flow, fed with the same predictions
      if (this.rtp?.onDownlink(tUs, v, data, totalMs, key) === true) {
        this.counters.downlinkArrivals.rtp++;
        if (existing !== undefined) return existing;
        return this.opts.rtp?.srtcpFallback === 'delay' ? this.lookupOrCreate(tUs, v, 'rtp') : undefined;
      }
      if (existing !== undefined) {
        this.counters.downlinkArrivals.udp++;
        return existing;
      }
      const o = this.opts;
      if (
        o.quic.enabled &&
        this.treatable(v, this.quicPorts, v.srcPort) &&
        v.capturedPayloadLength > 0 &&
        looksLikeQuicLong(data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength)
      ) {
        this.counters.downlinkArrivals.quic++;
        return this.lookupOrCreate(tUs, v, 'quic');
      }
      this.counters.downlinkArrivals.udp++;
      return undefined;
    }
    this.counters.downlinkArrivals.other++;
    return undefined;
  }

  private treatable(v: PacketView, ports: Set<number>, serverPort: number): boolean {
    if (v.isFragment) return false;
    if (ports.size > 0 && !ports.has(serverPort)) return false;
    if (this.dscp.size > 0 && !this.dscp.has(v.tos >>> 2)) return false;
    const isClient = this.opts.isClient;
    return isClient === undefined || isClient(v);
  }

  private lookup(tUs: number, v: PacketView): Flow | undefined {
    const h = canonicalFlowHash(v);
    const f = this.flows.peek(h);
    if (f === undefined || !viewMatchesFlowKey(v, f.key, true)) return undefined;
    return this.flows.get(h, tUs);
  }

  private lookupOrCreate(tUs: number, v: PacketView, protocol: FlowProtocol): Flow | undefined {
    const h = canonicalFlowHash(v);
    const existing = this.flows.peek(h);
    if (existing !== undefined) {
      if (!viewMatchesFlowKey(v, existing.key, true)) {
        this.counters.hashCollisions++;
        return undefined;
      }
      return this.flows.get(h, tUs);
    }
    this.counters.flowsCreated++;
    const flow = this.flows.getOrCreate(h, tUs, () => this.newFlow(tUs, v, h, protocol));
    // a flow the client opened: its SYN went up before the flow existed; the arrival creating the
    // flow (the sender's SYN-ACK when routed) completes the handshake RTT
    if (flow.clamp !== undefined) {
      const synT = this.synScales.takeSynTime(h);
      if (synT >= 0) flow.clamp.addRttSample(tUs, tUs - synT);
    }
    return flow;
  }

  private newFlow(tUs: number, v: PacketView, hash: number, protocol: FlowProtocol): Flow {
    const fu = this.opts.feedbackUpdater;
    return {
      key: flowKeyFromView(v),
      hash,
      protocol,
      mode: 'ack-delay',
      delayer: new AckDelayer(fu),
      pending: 0,
      downPackets: 0,
      upPackets: 0,
      heldPackets: 0,
      addedDelaySumUs: 0,
      lastTotalMs: 0,
      lastQLongMs: 0,
      lastQShortMs: 0,
      lastTxMs: 0,
      createdUs: tUs,
      lastTcpAck: -1,
      downBytesSinceUp: 0,
      clamp: fu.mode === 'window' && protocol === 'tcp' ? new WindowClamp(fu.window) : undefined,
      shareEpoch: -1,
      shareBytes: 0,
    };
  }

  // ------------------------------------------------------------- uplink (intercepted) ----

  /**
   * An uplink packet from the Wi-Fi side was intercepted (NFQUEUE, raw IP). Returns whether to
   * accept it now or hold it until `releaseUs`. The caller must call onReleased(flow) when a held
   * packet is released.
   */
  onUplink(tUs: number, payload: Uint8Array, out: UplinkDecision, item?: unknown): UplinkDecision {
    out.verdict = 'accept';
    out.releaseUs = tUs;
    out.flow = undefined;
    out.payload = undefined;
    const v = this.up;
    try {
      decodePacket(payload, 'raw-ip', v);
    } catch (err) {
      this.malformed(err, 'uplink');
      this.counters.uplink.other++;
      this.counters.uplinkPassedAtOnce++;
      return out;
    }
    try {
      let srtcp = false;
      if (v.l4 === 'udp' && this.rtp !== undefined) {
        const a = this.rtp.onUplink(tUs, v, payload);
        switch (a.action) {
          case 'unknown':
            break;
          case 'accept':
            this.counters.uplink.rtp++;
            this.counters.uplinkPassedAtOnce++;
            return out;
          case 'drop':
            this.counters.uplink.rtp++;
            this.counters.uplinkDropped++;
            out.verdict = 'drop';
            return out;
          case 'rewrite':
            this.counters.uplink.rtp++;
            this.counters.uplinkRewritten++;
            out.verdict = 'rewrite';
            out.payload = a.packet;
            return out;
          case 'srtcp':
            srtcp = true;
            break;
        }
      }
      const flow = v.l4 === 'tcp' || v.l4 === 'udp' ? this.lookup(tUs, v) : undefined;
      // mode 'window': a client's handshake, usually before its flow exists (flows start downlink)
      if (v.l4 === 'tcp' && (v.tcpFlags & TCP_SYN) !== 0 && this.opts.feedbackUpdater.mode === 'window') {
        this.synScales.onClientSyn(canonicalFlowHash(v), (v.tcpFlags & TCP_ACK) !== 0, v.tcpWscale, tUs);
      }
      if (flow !== undefined && flow.protocol === 'rtp' && !srtcp) {
        // RTP media or other packets of an RTP transport from the client: never delayed
        this.counters.uplink.rtp++;
        this.counters.uplinkPassedAtOnce++;
        return out;
      }
      if (flow === undefined) {
        this.counters.uplink[v.l4 === 'tcp' ? 'tcp' : v.l4 === 'udp' ? 'udp' : 'other']++;
        this.counters.uplinkUntracked++;
        return out;
      }
      this.counters.uplink[flow.protocol]++;
      flow.upPackets++;
      const gate = flow.delayer.drain;
      if (gate !== undefined && flow.mode === 'ack-delay') return this.drainUplink(tUs, v, flow, gate, out, item);
      if (flow.clamp !== undefined && flow.mode === 'ack-delay') return this.clampUplink(tUs, v, payload, flow, flow.clamp, out);
      let releaseUs: number;
      if (flow.mode !== 'ack-delay' || (v.l4 === 'tcp' && (v.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0)) {
        releaseUs = flow.delayer.passThrough(tUs);
      } else {
        releaseUs = flow.delayer.onUplink(tUs, this.rng);
      }
      const addedUs = releaseUs - tUs;
      this.observer.onAddedDelay?.(addedUs > 0 ? addedUs : 0);
      out.flow = flow;
      if (releaseUs <= tUs && flow.pending === 0) {
        this.counters.uplinkPassedAtOnce++;
        return out;
      }
      flow.pending++;
      flow.heldPackets++;
      flow.addedDelaySumUs += addedUs > 0 ? addedUs : 0;
      this.counters.uplinkHeld++;
      out.verdict = 'hold';
      out.releaseUs = releaseUs;
      return out;
    } catch (err) {
      this.internalError(err);
      return out;
    }
  }

  /** feedbackUpdater.mode 'drain' (drain-gate.ts): pass at once or store in the flow's gate. */
  private drainUplink(tUs: number, v: PacketView, flow: Flow, gate: DrainGate<unknown>, out: UplinkDecision, item: unknown): UplinkDecision {
    let acked = 0;
    if (v.l4 === 'tcp') {
      if ((v.tcpFlags & TCP_ACK) !== 0) {
        const a = v.tcpAck >>> 0;
        if (flow.lastTcpAck >= 0) {
          const d = (a - flow.lastTcpAck) >>> 0;
          // a wrapped or stale ACK number (reordering) frees nothing
          if (d < 0x80000000) {
            acked = d;
            flow.lastTcpAck = a;
          }
        } else flow.lastTcpAck = a;
      }
    } else {
      acked = flow.downBytesSinceUp;
    }
    flow.downBytesSinceUp = 0;
    const control = v.l4 === 'tcp' && (v.tcpFlags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0;
    out.flow = flow;
    if (gate.size === 0 && (control || gate.tryPass(tUs, this.ft.queueDelayMs(tUs, flow.hash)))) {
      this.counters.uplinkPassedAtOnce++;
      this.observer.onAddedDelay?.(0);
      return out;
    }
    // SYN/FIN/RST are never held for the queue, but never overtake a gated packet either
    gate.push(tUs, item, control ? 0 : acked);
    this.gatedTotal++;
    this.gatedFlows.add(flow);
    flow.pending++;
    flow.heldPackets++;
    this.counters.uplinkHeld++;
    out.verdict = 'gate';
    return out;
  }

  /**
   * feedbackUpdater.mode 'window' (window-clamp.ts): never delayed; an ACK's window is lowered to
   * the flow's share of the queue's dequeue rate x (its RTT beyond the AP + targetMs).
   */
  private clampUplink(tUs: number, v: PacketView, payload: Uint8Array, flow: Flow, clamp: WindowClamp, out: UplinkDecision): UplinkDecision {
    out.flow = flow;
    this.observer.onAddedDelay?.(0);
    const flags = v.tcpFlags;
    if (v.tcpTsOffset >= 0) clamp.onUplinkTsVal(tUs, tcpTsVal(payload, v.tcpTsOffset));
    // the client's SYN-ACK of a flow the sender opened: the sender's next segment gives an RTT
    if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) clamp.onClientSynAckUp(tUs);
    if ((flags & TCP_ACK) === 0 || (flags & (TCP_SYN | TCP_RST)) !== 0) {
      this.counters.uplinkPassedAtOnce++;
      return out;
    }
    if (clamp.windowShift < 0) {
      const shift = this.synScales.take(flow.hash);
      if (shift >= 0) clamp.setWindowShift(shift);
    }
    const w = this.opts.feedbackUpdater.window;
    const targetMs = w?.targetMs ?? WINDOW_CLAMP_DEFAULTS.targetMs;
    const minBytes = w?.minWindowBytes ?? WINDOW_CLAMP_DEFAULTS.minWindowBytes;
    const rateBps = this.ft.rate.rateBps;
    const shareBytesPerS = this.fq !== undefined ? this.fq.fairShareBps(tUs, rateBps) / 8 : rateBps / 8 / this.share.flows(tUs);
    const field = clamp.clampField(v.tcpWindow, shareBytesPerS, targetMs, minBytes);
    if (field === 'no-scale') this.counters.windowNoScale++;
    else if (field === 'no-rtt') this.counters.windowNoRtt++;
    else if (field < v.tcpWindow) {
      setTcpWindow(payload, v.l4Offset, field);
      clamp.clampedAcks++;
      this.counters.windowClamped++;
      this.counters.uplinkRewritten++;
      out.verdict = 'rewrite';
      out.payload = payload;
      return out;
    } else this.counters.windowUnchanged++;
    this.counters.uplinkPassedAtOnce++;
    return out;
  }

  /** Packets waiting in drain gates (feedbackUpdater.mode 'drain'). */
  get gatedPackets(): number {
    return this.gatedTotal + this.orphans.length;
  }

  /**
   * Releases the drain-gated packets that may go at tUs (call every millisecond or two while
   * gatedPackets > 0). `release` gets the item given to onUplink; onReleased need not be called.
   */
  pollGates(tUs: number, release: (item: unknown) => void): number {
    let n = this.releaseOrphans(release);
    if (this.gatedFlows.size === 0) return n;
    const rateBps = this.ft.rate.rateBps;
    const max = this.opts.maxGatedPackets ?? Infinity;
    for (const f of this.gatedFlows) {
      const g = f.delayer.drain;
      if (g === undefined) continue;
      const queueMs = this.ft.queueDelayMs(tUs, f.hash); // the flow's own queue under fq
      const onRelease = (item: unknown, arrivalTUs: number): void => {
        const added = tUs - arrivalTUs;
        f.addedDelaySumUs += added;
        if (f.pending > 0) f.pending--;
        this.gatedTotal--;
        this.observer.onAddedDelay?.(added);
        release(item);
      };
      const capBefore = g.releasedByCap;
      const r = g.poll(tUs, queueMs, rateBps, onRelease);
      n += r;
      const byCap = g.releasedByCap - capBefore;
      this.counters.gateReleasedMaxHold += byCap;
      this.counters.gateReleasedQueue += r - byCap;
      // the gates together may not outgrow the kernel queue: the oldest of this flow go first
      if (this.gatedTotal > max) {
        const o = g.releaseOldest(this.gatedTotal - max, onRelease);
        this.counters.gateReleasedOverflow += o;
        n += o;
      }
      if (g.size === 0) this.gatedFlows.delete(f);
    }
    return n;
  }

  /** Everything gated out now, in order per flow (shutdown). */
  flushGates(release: (item: unknown) => void): number {
    let n = this.releaseOrphans(release);
    for (const f of this.gatedFlows) {
      n += f.delayer.drain?.flush((item) => {
        if (f.pending > 0) f.pending--;
        release(item);
      }) ?? 0;
    }
    this.gatedFlows.clear();
    this.gatedTotal = 0;
    return n;
  }

  private releaseOrphans(release: (item: unknown) => void): number {
    const o = this.orphans;
    if (o.length === 0) return 0;
    this.orphans = [];
    for (const item of o) release(item);
    return o.length;
  }

  /**
   * The kernel's queue dropped `n` packets since the last reading at `sinceUs` (the qdisc's drop
   * counter). A full FIFO drops what arrives while it is full, so the `n` most recent arrivals after
   * `sinceUs` are taken as the dropped ones and reported lost on their RTP transports (before the
   * feedback covering them is built, when the counter is read often enough). Returns how many
   * were marked.
   */
  onKernelDrops(sinceUs: number, n: number): number {
    let marked = 0;
    for (let k = 1; k <= RECENT && marked < n; k++) {
      const i = (this.recentPos - k + RECENT) % RECENT;
      const t = this.recentT[i] ?? 0;
      if (t <= sinceUs) break;
      // a non-RTP packet is one of the n all the same: only RTP transports have feedback to fix
      this.rtp?.markLostByMatchKey(this.recentKey[i] ?? 0);
      marked++;
    }
    this.counters.kernelDropsAttributed += marked;
    return marked;
  }

  onReleased(flow: Flow | undefined): void {
    if (flow !== undefined && flow.pending > 0) flow.pending--;
  }

  /** Periodic housekeeping: idle flows out. */
  tick(tUs: number): void {
    this.flows.expire(tUs, (f) => f.pending === 0);
    this.nat.expire(tUs);
  }

  // ------------------------------------------------------------------------ status ----

  status(nowUs: number, maxFlows = 100): EngineStatus {
    const p = this.lastPrediction;
    const flows: FlowStatus[] = [];
    for (const [, f, lastSeenUs] of this.flows.entries()) {
      if (flows.length >= maxFlows) break;
      flows.push({
        flow: flowKeyToString(f.key),
        protocol: f.protocol,
        mode: f.mode,
        predictedDelayMs: round3(f.lastTotalMs),
        qLongMs: round3(f.lastQLongMs),
        qShortMs: round3(f.lastQShortMs),
        txMs: round3(f.lastTxMs),
        heldNow: f.pending,
        heldTotal: f.heldPackets,
        meanAddedDelayMs: f.heldPackets > 0 ? round3(f.addedDelaySumUs / f.heldPackets / 1000) : 0,
        downPackets: f.downPackets,
        upPackets: f.upPackets,
        idleMs: Math.round((nowUs - lastSeenUs) / 1000),
        ...(f.clamp !== undefined
          ? {
              window: {
                shift: f.clamp.windowShift,
                baseRttMs: f.clamp.baseRttUs < 0 ? -1 : round3(f.clamp.baseRttUs / 1000),
                rttSamples: f.clamp.rttSamples,
                clampedAcks: f.clamp.clampedAcks,
              },
            }
          : {}),
      });
    }
    return {
      queue: {
        bytesInQueue: this.ft.queue.bytesInQueue,
        packetsInQueue: this.ft.queue.packetsInQueue,
        dequeueRateBps: Math.round(this.ft.rate.rateBps),
        lastPrediction:
          p === undefined
            ? undefined
            : { qLongMs: round3(p.qLongMs), qShortMs: round3(p.qShortMs), txMs: round3(p.txMs), totalMs: round3(p.totalMs) },
      },
      flowsActive: this.flows.size,
      flows,
      natAliases: this.nat.list(20),
    };
  }

  // ------------------------------------------------------------------------ errors ----

  private malformed(err: unknown, direction: 'downlink' | 'uplink'): void {
    if (!(err instanceof ParseError)) {
      this.internalError(err);
      return;
    }
    this.counters.malformed[err.reason]++;
    const k = `${direction}:${err.reason}:${err.what}`;
    if (!this.seenMalformed.has(k) && this.seenMalformed.size < 256) {
      this.seenMalformed.add(k);
      this.observer.onFirstMalformed?.(err.reason, err.what, direction);
    }
  }

  private internalError(err: unknown): void {
    this.counters.internalErrors++;
    this.observer.onInternalError?.(err);
  }
}

export interface FlowStatus {
  flow: string;
  protocol: FlowProtocol;
  mode: FlowMode;
  predictedDelayMs: number;
  qLongMs: number;
  qShortMs: number;
  txMs: number;
  heldNow: number;
  heldTotal: number;
  meanAddedDelayMs: number;
  downPackets: number;
  upPackets: number;
  idleMs: number;
  /**
   * feedbackUpdater.mode 'window': the client's window shift (-1 unknown), the RTT beyond the AP
   * (ms, -1 unknown), its samples (1 = the handshake's only: a client without TCP timestamps), ACKs clamped
   */
  window?: { shift: number; baseRttMs: number; rttSamples: number; clampedAcks: number };
}

export interface EngineStatus {
  queue: {
    bytesInQueue: number;
    packetsInQueue: number;
    dequeueRateBps: number;
    lastPrediction: { qLongMs: number; qShortMs: number; txMs: number; totalMs: number } | undefined;
  };
  flowsActive: number;
  flows: FlowStatus[];
  /** learnt NAT aliases (public > private), at most 20 */
  natAliases: string[];
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// ------------------------------------------------------------------------------ NAT ----

/** Departures that must agree on a public -> private mapping before it is used. */
export const NAT_CONFIRMATIONS = 2;
/** One translated arrival in this many is re-checked against its departure. */
export const NAT_RECHECK_EVERY = 32;
const EVIDENCE_SLOTS = 4096; // power of two
const KEY_WORDS = 12;

export interface NatAliasOptions {
  maxAliases: number;
  idleTimeoutUs: number;
}

interface NatAlias {
  /** downlink tuple as the eth tap sees it (server -> AP public address:port) */
  readonly pub: FlowKey;
  /** the same packets on wlan (server -> client private address:port) */
  readonly priv: FlowKey;
  /** departures agreeing on priv; used once >= NAT_CONFIRMATIONS */
  hits: number;
}

type NatCounters = Pick<EngineCounters, 'natAliasesLearnt' | 'natTranslated' | 'natEvidence' | 'natAliasCollisions'>;

/**
 * Public -> private downlink tuple aliases, learnt from the two taps (pure, bounded, no
 * allocation per packet except when an alias is created).
 *
 * Evidence: each arrival to a non-client address without an alias is remembered by its packet
 * match key in a direct-mapped table (`EVIDENCE_SLOTS` slots, a newer arrival overwrites an older
 * one in its slot) together with its tuple. A departure to a client whose match key finds such an
 * arrival says: this public tuple is that private tuple. A mapping is used once
 * `NAT_CONFIRMATIONS` departures agreed on it, so one match-key collision (two different
 * packets with the same IP ID, length and first 16 payload bytes) never creates an alias; a
 * disagreeing departure restarts the count with the new mapping (conntrack re-mapped the flow;
 * confirmed aliases are re-checked on one translated arrival in `NAT_RECHECK_EVERY`).
 * Aliases live in an LRU table keyed by the public tuple's directional hash, confirmed field by
 * field (a hash collision leaves the newcomer unaliased, counted), and expire when idle.
 */
export class NatAliases {
  private readonly table: FlowTable<number, NatAlias>;
  private readonly evKey = new Uint32Array(EVIDENCE_SLOTS);
  private readonly evLive = new Uint8Array(EVIDENCE_SLOTS);
  // the tuple of each evidence slot: family, protocol, src0..3, dst0..3, srcPort, dstPort
  private readonly evTuple = new Float64Array(EVIDENCE_SLOTS * KEY_WORDS);
  private evCount = 0;
  private translations = 0;
  private readonly scratchPub = newFlowKey();
  private readonly scratchPriv = newFlowKey();

  constructor(
    opts: NatAliasOptions,
    private readonly counters: NatCounters,
  ) {
    this.table = new FlowTable<number, NatAlias>({ maxFlows: Math.max(1, opts.maxAliases), idleTimeoutUs: opts.idleTimeoutUs });
  }

  reconfigure(opts: NatAliasOptions): void {
    this.table.reconfigure({ maxFlows: Math.max(1, opts.maxAliases), idleTimeoutUs: opts.idleTimeoutUs });
  }

  get size(): number {
    return this.table.size;
  }

  /** Live evidence slots (0 on a routed AP: departures then skip learning). */
  get pendingEvidence(): number {
    return this.evCount;
  }

  /**
   * Rewrites the view's addresses and ports to the private tuple when the view's (public) tuple
   * has a confirmed alias. Returns whether it did. One translated arrival in
   * `NAT_RECHECK_EVERY` is kept as evidence too, so a re-mapped tuple is noticed (its departure
   * disagrees: the alias is unconfirmed until the new mapping is).
   */
  translate(tUs: number, v: PacketView, matchKey = 0): boolean {
    if (this.table.size === 0) return false;
    const h = flowHash(v);
    const a = this.table.peek(h);
    if (a === undefined || a.hits < NAT_CONFIRMATIONS || !viewMatchesFlowKey(v, a.pub)) return false;
    this.table.get(h, tUs);
    if (++this.translations % NAT_RECHECK_EVERY === 0) this.remember(tUs, v, matchKey);
    const k = a.priv;
    v.src0 = k.src0;
    v.src1 = k.src1;
    v.src2 = k.src2;
    v.src3 = k.src3;
    v.dst0 = k.dst0;
    v.dst1 = k.dst1;
    v.dst2 = k.dst2;
    v.dst3 = k.dst3;
    if (v.l4 === 'tcp' || v.l4 === 'udp') {
      v.srcPort = k.srcPort;
      v.dstPort = k.dstPort;
    }
    this.counters.natTranslated++;
    return true;
  }

  /** An unresolved arrival (to a non-client address, no alias): kept as evidence. */
  remember(_tUs: number, v: PacketView, matchKey: number): void {
    if (matchKey === 0) return;
    const i = matchKey & (EVIDENCE_SLOTS - 1);
    if (this.evLive[i] === 0) {
      this.evLive[i] = 1;
      this.evCount++;
    }
    this.evKey[i] = matchKey >>> 0;
    const k = flowKeyFromView(v, this.scratchPub);
    const o = i * KEY_WORDS;
    const t = this.evTuple;
    t[o] = k.family;
    t[o + 1] = k.protocol;
    t[o + 2] = k.src0;
    t[o + 3] = k.src1;
    t[o + 4] = k.src2;
    t[o + 5] = k.src3;
    t[o + 6] = k.dst0;
    t[o + 7] = k.dst1;
    t[o + 8] = k.dst2;
    t[o + 9] = k.dst3;
    t[o + 10] = k.srcPort;
    t[o + 11] = k.dstPort;
  }

  /**
   * A departure to a client (`v`, private tuple) with this match key: if it matches remembered
   * evidence, counts towards the alias public tuple -> `v`'s tuple. Returns true when an alias
   * became usable with this departure.
   */
  learn(tUs: number, v: PacketView, matchKey: number): boolean {
    if (matchKey === 0) return false;
    const i = matchKey & (EVIDENCE_SLOTS - 1);
    if (this.evLive[i] === 0 || this.evKey[i] !== matchKey >>> 0) return false;
    this.evLive[i] = 0;
    this.evCount--;
    const o = i * KEY_WORDS;
    const t = this.evTuple;
    const pub = this.scratchPub;
    pub.family = t[o]!;
    pub.protocol = t[o + 1]!;
    pub.src0 = t[o + 2]!;
    pub.src1 = t[o + 3]!;
    pub.src2 = t[o + 4]!;
    pub.src3 = t[o + 5]!;
    pub.dst0 = t[o + 6]!;
    pub.dst1 = t[o + 7]!;
    pub.dst2 = t[o + 8]!;
    pub.dst3 = t[o + 9]!;
    pub.srcPort = t[o + 10]!;
    pub.dstPort = t[o + 11]!;
    const priv = flowKeyFromView(v, this.scratchPriv);
    if (priv.family !== pub.family || priv.protocol !== pub.protocol || flowKeyEquals(priv, pub)) return false;
    this.counters.natEvidence++;
    const h = flowKeyHash(pub); // = flowHash of a view of that tuple
    const a = this.table.peek(h);
    if (a !== undefined) {
      if (!flowKeyEquals(a.pub, pub)) {
        this.counters.natAliasCollisions++;
        return false;
      }
      this.table.get(h, tUs);
      if (flowKeyEquals(a.priv, priv)) {
        if (a.hits < NAT_CONFIRMATIONS) a.hits++;
        else return false; // a re-check that agreed
        if (a.hits === NAT_CONFIRMATIONS) this.counters.natAliasesLearnt++;
        return a.hits === NAT_CONFIRMATIONS;
      }
      // another private tuple behind the same public one (re-mapped): start over with it
      Object.assign(a.priv, priv);
      a.hits = 1;
      return false;
    }
    const created: NatAlias = { pub: { ...pub }, priv: { ...priv }, hits: 1 };
    this.table.getOrCreate(h, tUs, () => created);
    if (NAT_CONFIRMATIONS <= 1) this.counters.natAliasesLearnt++;
    return NAT_CONFIRMATIONS <= 1;
  }

  expire(tUs: number): void {
    this.table.expire(tUs);
  }

  /** Cold path: "public > private" strings of confirmed aliases. */
  list(max: number): string[] {
    const out: string[] = [];
    for (const [, a] of this.table.entries()) {
      if (out.length >= max) break;
      if (a.hits >= NAT_CONFIRMATIONS) out.push(`${flowKeyToString(a.pub)} = ${flowKeyToString(a.priv)}`);
    }
    return out;
  }
}
