/**
 * The engine: what the daemon does with each observed or intercepted packet, with no I/O. A
 * dispatcher: it classifies, keeps the flow table, feeds the Fortune Teller and hands each
 * treated flow's packets to the flow's uplink policy (src/feedback-updater/uplink-policy.ts),
 * which only decides.
 *
 * Principles (the hot path of the daemon runs here):
 *  - Downlink packets are never touched, only observed: every packet the eth tap sees entering
 *    the Wi-Fi queue feeds the one Fortune Teller of that queue (all flows' bytes count, so a
 *    flow's prediction includes the other flows' bytes ahead of it); packets of treated flows
 *    then feed their flow's uplink policy with the predicted total delay.
 *  - Classification once per downlink packet: one decode, one match key, ONE canonical flow hash
 *    (after NAT translation), carried to the fair-queue share, the Fortune Teller and the flow
 *    table; the QUIC long-header test runs only for a UDP packet of no known flow.
 *  - Uplink packets of treated flows (TCP ACKs, QUIC packets carrying ACK frames) get their
 *    flow's policy's decision: pass, a release time (held in order: a packet never overtakes
 *    a held packet of its flow), a gate, or a rewrite; anything unparsable or untracked is
 *    accepted at once.
 *  - The engine holds no packet: held and gated packets stay with the caller (the daemon's
 *    uplink hold), which learns from the engine when (releaseUs) or which flow's (pollGates).
 *  - Nothing here throws on traffic: malformed packets are counted by reason and passed.
 *  - No allocation per packet on the common path: one reusable PacketView per direction, flows
 *    looked up by a 32-bit canonical hash and confirmed field by field (a hash collision leaves
 *    the second flow untreated and is counted, never mixes flows).
 *  - NAT on the AP (a home router masquerading its Wi-Fi clients): the eth tap sees a downlink
 *    packet before de-NAT (to the AP's public address and the mapped port), the wlan tap and
 *    NFQUEUE see the client's own address:port. The taps' match keys leave addresses and ports
 *    out (packetMatchKey), and a departure to a client that matches an arrival to a non-client
 *    address teaches a public -> private tuple alias (nat-aliases.ts). Arrivals of an aliased
 *    tuple are then translated in the view (as if routed): flows, RTP transports and the
 *    feedback built are all keyed by the client's private tuple, so uplink packets meet them and
 *    zhuge's feedback leaves from the client's address:port (conntrack SNATs it like the client's
 *    own). Until a tuple is aliased (the first packets of a flow) its arrivals are neither fed to
 *    the queue model nor treated: the AP's own traffic looks the same and never enters the queue.
 * Time is the daemon's monotonic µs clock, passed in by the caller.
 */
import { queueViewOf } from './rtp/queue-view-of.js';
import { FqShare, seededRng, UplinkPolicyModes, type PolicyDecision, type QueueReadings } from '../feedback-updater/index.js';
import { FortuneTeller, type FortuneTellerConfig, type Prediction } from '../fortune-teller/index.js';
import { canonicalFlowHash, packetMatchKey, viewMatchesFlowKey } from '../protocols/flow-key.js';
import { decodePacket, newPacketView, type LinkType, type PacketView } from '../protocols/packet.js';
import { looksLikeQuicLong } from '../protocols/quic.js';
import { TCP_SYN } from '../protocols/tcp.js';
import { RtpFeedback, type RtpFeedbackConfig } from './rtp/rtp-feedback.js';
import { zeroEngineCounters, type EngineCounters } from './counters.js';
import { EngineErrors } from './engine-errors.js';
import { RecentArrivals } from './drop-attribution.js';
import { newFlow, type Flow, type FlowProtocol } from './flow.js';
import { engineStatus, type EngineStatus } from './flow-status.js';
import { FlowTable, type EvictCause } from './flow-table.js';
import { GatedFlows, type GatedRelease } from './gated-flows.js';
import { NatAliases } from './nat-aliases.js';
import { applyPolicyDecision } from './policy-decision.js';
import { ClientMacs } from './client-macs.js';
import { macNumber } from './station-directory.js';
import { StationQueues } from './station-queues.js';
import { treatableDownlink } from './treat-filter.js';
import type { EngineObserver, EngineOptions, UplinkDecision } from './options.js';

export class Engine {
  /** replaced by reconfigure() when its constants change */
  ft: FortuneTeller;
  readonly flows: FlowTable<number, Flow>;
  /** the in-band path (undefined when RTP treatment is off) */
  rtp: RtpFeedback | undefined;
  /** REMB lifts of an in-band path a reload turned off, to be sent (the daemon splices them) */
  readonly retiredLifts: Uint8Array[] = [];
  /** queue.backend mac80211: a Fortune Teller per station (`ft` is then station 0's: unknown destinations) */
  readonly stations: StationQueues | undefined;
  /** client address -> the link-layer address downlink frames to it went to (forged uplink is told apart) */
  readonly clientMacs = new ClientMacs();
  readonly counters: EngineCounters = zeroEngineCounters();
  /** NAT public -> private tuple aliases (empty when the AP routes) */
  readonly nat: NatAliases;
  /** the uplink policies of the three modes (feedbackUpdater.mode picks new flows') */
  readonly policies: UplinkPolicyModes;
  private opts: EngineOptions;
  private tcpPorts: Set<number>;
  private quicPorts: Set<number>;
  private dscp: Set<number>;
  /** fortuneTeller.discipline 'fq' (queue.discipline): every flow's offered rate, for the clamp's max-min fair share */
  private fq: FqShare | undefined;
  private readonly recent: RecentArrivals;
  private readonly errors: EngineErrors;
  private readonly gates: GatedFlows;
  private readonly down: PacketView = newPacketView();
  private readonly dep: PacketView = newPacketView();
  private readonly up: PacketView = newPacketView();
  private readonly policyOut: PolicyDecision = { action: 'pass', releaseUs: 0 };
  private lastPrediction: Prediction | undefined;
  /** what the uplink policies read of the queue */
  private readonly queue: QueueReadings = {
    queueDelayMs: (tUs, flowHash) => this.ftOfFlow(flowHash).queueDelayMs(tUs, flowHash),
    rateBps: (flowHash) => this.ftOfFlow(flowHash).rate.rateBps,
    fairShareBps: (tUs, rateBps) => (this.fq !== undefined ? this.fq.fairShareBps(tUs, rateBps) : -1),
  };

  constructor(
    opts: EngineOptions,
    private readonly observer: EngineObserver = {},
  ) {
    this.opts = opts;
    this.tcpPorts = new Set(opts.tcp.ports);
    this.quicPorts = new Set(opts.quic.ports);
    this.dscp = new Set(opts.dscp);
    this.ft = this.newFortuneTeller(opts.fortuneTeller);
    this.stations = opts.perStationQueues === true ? new StationQueues(opts.fortuneTeller, () => this.ft, (ft) => this.wireFortuneTeller(ft)) : undefined;
    // fortuneTeller.discipline 'fq' (per-flow fair queues): the Fortune Teller predicts each flow's
    // own queue, and the window clamp's share is the max-min fair share among every flow offering
    // data to the queue (FqShare), treated or not, instead of the rate divided among the clamped flows
    this.fq = opts.fortuneTeller.discipline === 'fq' ? new FqShare() : undefined;
    this.policies = new UplinkPolicyModes(opts.feedbackUpdater, seededRng(opts.feedbackUpdater.seed), this.counters);
    this.rtp = opts.rtp !== undefined ? this.newRtpFeedback(opts.rtp) : undefined;
    this.recent = new RecentArrivals(this.counters);
    this.errors = new EngineErrors(this.counters, this.observer);
    this.gates = new GatedFlows(this.queue, (us) => this.observer.onAddedDelay?.(us));
    this.flows = new FlowTable<number, Flow>(
      { maxFlows: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 },
      (_k, f, cause: EvictCause) => {
        if (cause === 'idle') this.counters.flowsEvictedIdle++;
        else this.counters.flowsEvictedCapacity++;
        this.gates.evicted(f);
      },
    );
    this.nat = new NatAliases({ maxAliases: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 }, this.counters);
  }

  /**
   * Applies a reloaded configuration. Classification and table bounds change at once; the
   * Fortune Teller keeps its learned state unless its constants changed (then it restarts).
   * Existing flows keep their uplink policy; new flows get the new mode and constants.
   */
  reconfigure(opts: EngineOptions): void {
    this.opts = opts;
    this.tcpPorts = new Set(opts.tcp.ports);
    this.quicPorts = new Set(opts.quic.ports);
    this.dscp = new Set(opts.dscp);
    if (JSON.stringify(opts.fortuneTeller) !== JSON.stringify(this.ft.config)) {
      this.ft = this.newFortuneTeller(opts.fortuneTeller);
      this.stations?.reconfigure(opts.fortuneTeller);
    }
    if (opts.fortuneTeller.discipline !== 'fq') this.fq = undefined;
    else this.fq ??= new FqShare();
    this.policies.reconfigure(opts.feedbackUpdater);
    this.flows.reconfigure({ maxFlows: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 });
    this.nat.reconfigure({ maxAliases: opts.maxFlows, idleTimeoutUs: opts.idleTimeoutMs * 1000 });
    // turned off: the lifts of its caps are left for the daemon to send (a sender keeps the last REMB it got)
    if (opts.rtp === undefined) this.retiredLifts.push(...(this.rtp?.liftCaps() ?? []));
    if (opts.rtp === undefined) this.rtp = undefined;
    else if (this.rtp === undefined) this.rtp = this.newRtpFeedback(opts.rtp);
    else this.rtp.reconfigure(opts.rtp);
  }

  /** The in-band path, reading the current Fortune Teller for reportTiming 'departure'. */
  private newRtpFeedback(c: RtpFeedbackConfig): RtpFeedback {
    const rtp = new RtpFeedback(c);
    rtp.queue = queueViewOf((flow) => this.ftOfFlow(flow));
    return rtp;
  }

  private newFortuneTeller(c: FortuneTellerConfig): FortuneTeller {
    const ft = new FortuneTeller(c);
    this.wireFortuneTeller(ft);
    return ft;
  }

  private wireFortuneTeller(ft: FortuneTeller): void {
    // a packet the AP queue dropped is reported lost (departures: onDownlinkDeparture)
    ft.queue.onRetire = (key) => this.rtp?.markLostByMatchKey(key);
  }

  /** The Fortune Teller of the queue a flow's packets wait in (its station's, with per-station queues). */
  private ftOfFlow(flowHash: number): FortuneTeller {
    return this.stations !== undefined ? this.stations.ftOfFlow(flowHash) : this.ft;
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
      this.errors.malformed(err, 'downlink');
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
      // the one canonical hash of the packet (after NAT translation)
      const h = decoded ? canonicalFlowHash(v) : 0;
      // per-flow fair queues: every flow, treated or not, has a queue of its own
      let fh = 0;
      if (decoded && this.fq !== undefined) {
        fh = h;
        this.fq.add(tUs, fh, wireBytes);
      }
      // the queue it waits in: its station's (queue.backend mac80211), else the one queue
      const station = decoded && this.stations !== undefined ? this.stations.stationOfPacket(v, h) : 0;
      const ft = station > 0 && this.stations !== undefined ? this.stations.ftOf(station) : this.ft;
      const limit = this.opts.queueLimitBytes ?? 0;
      const willDrop = limit > 0 && ft.queue.bytesInQueue + wireBytes > limit;
      if (willDrop) this.counters.predictedQueueDrops++;
      // (under a FIFO the flow only keeps per-flow byte counts, for a REMB cap's share of the
      // queue: UDP only, so TCP and QUIC-less paths keep exactly the accounting they had)
      else ft.onArrival(tUs, wireBytes, key, this.fq !== undefined ? fh : decoded && v.l4 === 'udp' ? h : 0);
      // seen leaving already (the wlan tap was read first): handed on once recorded, below
      const departedUs = willDrop ? -1 : ft.queue.lastArrivalDepartedUs;
      this.recent.add(tUs, key);
      const p = ft.predict(tUs, 0, undefined, fh);
      this.lastPrediction = p;
      this.observer.onPrediction?.(p, tUs, key, station);
      if (!decoded) {
        this.counters.downlinkArrivals.other++;
        return;
      }
      const flow = this.classifyDownlink(tUs, v, data, h, willDrop ? Number.POSITIVE_INFINITY : p.totalMs, key, ft);
      if (departedUs >= 0 && key !== 0) this.rtp?.onDeparture(key, departedUs);
      if (flow === undefined) return;
      flow.downPackets++;
      flow.lastTotalMs = p.totalMs;
      flow.lastQLongMs = p.qLongMs;
      flow.lastQShortMs = p.qShortMs;
      flow.lastTxMs = p.txMs;
      flow.policy.onDownlink(tUs, v, data, p.totalMs, wireBytes);
    } catch (err) {
      this.errors.internal(err);
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
      // the sender's SYN-ACK (window scale), taken where NAT has already been undone
      if (decoded && v.l4 === 'tcp' && (v.tcpFlags & TCP_SYN) !== 0) this.policies.current.onSenderSyn(canonicalFlowHash(v), v);
      if (decoded && this.nat.pendingEvidence > 0) {
        const isClient = this.opts.isClient;
        if (isClient !== undefined && isClient(v)) this.nat.learn(tUs, v, key);
      }
      const dstMac = decoded && linkType === 'ethernet' && data.length >= 6 ? macNumber(data, 0) : 0;
      if (dstMac !== 0) this.clientMacs.learnDestination(v, dstMac);
      if (this.stations !== undefined) {
        // mac80211: the wlan tap sees the frame enter its station's TXQ (departures: onTxqReading)
        if (dstMac !== 0) this.stations.directory.learn(v, dstMac);
        return -1;
      }
      const arrivalUs = this.ft.onDeparture(tUs, wireBytes, key);
      // every departure, matched by the model or not (one it retired on a guess still left)
      if (decoded && key !== 0) this.rtp?.onDeparture(key, tUs);
      return arrivalUs;
    } catch (err) {
      this.errors.internal(err);
      return -1;
    }
  }

  /**
   * queue.backend mac80211: station `mac`'s TXQ counters read at tUs (`packets`/`bytes` left
   * since the last reading; the backlog now): its modelled packets leave, oldest first.
   */
  onTxqReading(tUs: number, mac: number, packets: number, bytes: number, backlogBytes: number, backlogPackets: number): void {
    try {
      this.stations?.onTxqReading(tUs, mac, packets, bytes, backlogBytes, backlogPackets, this.onCountedDeparture);
    } catch (err) {
      this.errors.internal(err);
    }
  }

  private readonly onCountedDeparture = (key: number, tUs: number): void => {
    if (key !== 0) this.rtp?.onDeparture(key, tUs);
  };

  /** The Wi-Fi queue's shaper rate read at tUs (queue.rateFrom 'shaper'; 0: none readable). */
  onLinkRate(tUs: number, rateBps: number): void {
    this.ft.setLinkRate(tUs, rateBps);
  }

  /** The kernel's backlog of the Wi-Fi queue (rtnetlink), to resync the tap-tracked model. */
  onBacklogSample(tUs: number, bytes: number, packets: number): void {
    try {
      this.ft.onBacklogSample(tUs, bytes, packets);
    } catch (err) {
      this.errors.internal(err);
    }
  }

  /** The treated flow of a decoded downlink packet (canonical hash h), created if new; counts its protocol. */
  private classifyDownlink(tUs: number, v: PacketView, data: Uint8Array, h: number, totalMs: number, key: number, ft: FortuneTeller): Flow | undefined {
    const arrivals = this.counters.downlinkArrivals;
    if (v.l4 === 'tcp') {
      arrivals.tcp++;
      if (!this.opts.tcp.enabled || !this.treatable(v, this.tcpPorts)) return undefined;
      // a flow starts with any packet; SYN/FIN/RST do not end it early: the idle timeout does
      return this.lookupOrCreate(tUs, v, h, 'tcp');
    }
    if (v.l4 === 'udp') {
      const existing = this.lookup(tUs, v, h);
      if (existing !== undefined && existing.protocol === 'quic') {
        arrivals.quic++;
        return existing;
      }
      // RTP transports: predicted arrival times recorded for the feedback zhuge builds; with the
      // SRTCP fallback the transport also gets an ACK-delay flow, fed with the same predictions
      if (this.rtp?.onDownlink(tUs, v, data, totalMs, key, ft.queue.position(h), h) === true) {
        arrivals.rtp++;
        if (existing !== undefined) return existing;
        return this.opts.rtp?.srtcpFallback === 'delay' ? this.lookupOrCreate(tUs, v, h, 'rtp') : undefined;
      }
      if (existing !== undefined) {
        arrivals.udp++;
        return existing;
      }
      if (
        this.opts.quic.enabled &&
        this.treatable(v, this.quicPorts) &&
        v.capturedPayloadLength > 0 &&
        looksLikeQuicLong(data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength)
      ) {
        arrivals.quic++;
        return this.lookupOrCreate(tUs, v, h, 'quic');
      }
      arrivals.udp++;
      return undefined;
    }
    arrivals.other++;
    return undefined;
  }

  /** Whether a downlink packet is to be treated (treat-filter.ts). */
  private treatable(v: PacketView, ports: Set<number>): boolean {
    return treatableDownlink(v, ports, this.dscp, this.opts.isClient);
  }

  private lookup(tUs: number, v: PacketView, h: number): Flow | undefined {
    const f = this.flows.peek(h);
    if (f === undefined || !viewMatchesFlowKey(v, f.key, true)) return undefined;
    return this.flows.get(h, tUs);
  }

  private lookupOrCreate(tUs: number, v: PacketView, h: number, protocol: FlowProtocol): Flow | undefined {
    const existing = this.flows.peek(h);
    if (existing !== undefined) {
      if (!viewMatchesFlowKey(v, existing.key, true)) {
        this.counters.hashCollisions++;
        return undefined;
      }
      return this.flows.get(h, tUs);
    }
    this.counters.flowsCreated++;
    return this.flows.getOrCreate(h, tUs, () => newFlow(tUs, v, h, protocol, this.policies.current.newFlow(tUs, h, protocol === 'tcp')));
  }

  // ------------------------------------------------------------- uplink (intercepted) ----

  /**
   * An uplink packet from the Wi-Fi side was intercepted (NFQUEUE, raw IP). Returns whether to
   * accept it now, hold it until `releaseUs` (then call onReleased(flow)), keep it in its flow's
   * gate (released through pollGates / flushGates), drop it or accept it rewritten. `srcMac`: the
   * sender's link-layer address (NFQA_HWADDR; 0 unknown): a packet claiming a client's address
   * from another station's passes untouched (ClientMacs).
   */
  onUplink(tUs: number, payload: Uint8Array, out: UplinkDecision, srcMac = 0): UplinkDecision {
    out.verdict = 'accept';
    out.releaseUs = tUs;
    out.flow = undefined;
    out.payload = undefined;
    const v = this.up;
    const c = this.counters;
    try {
      decodePacket(payload, 'raw-ip', v);
    } catch (err) {
      this.errors.malformed(err, 'uplink');
      c.uplink.other++;
      c.uplinkPassedAtOnce++;
      return out;
    }
    if (srcMac !== 0 && this.clientMacs.checkSource(v, srcMac) === 'mismatch') {
      // another station's frame claiming this client's address: it changes nothing of the
      // client's transports or flows, and passes untouched
      c.uplinkForeignMac++;
      c.uplinkPassedAtOnce++;
      return out;
    }
    try {
      let srtcp = false;
      const isTcp = v.l4 === 'tcp';
      const h = isTcp || v.l4 === 'udp' ? canonicalFlowHash(v) : 0;
      if (v.l4 === 'udp' && this.rtp !== undefined) {
        const a = this.rtp.onUplink(tUs, v, payload, h);
        if (a.action === 'srtcp') srtcp = true;
        else if (a.action !== 'unknown') {
          c.uplink.rtp++;
          if (a.action === 'accept') c.uplinkPassedAtOnce++;
          else if (a.action === 'drop') {
            c.uplinkDropped++;
            out.verdict = 'drop';
          } else {
            c.uplinkRewritten++;
            out.verdict = 'rewrite';
            out.payload = a.packet;
          }
          return out;
        }
      }
      const flow = isTcp || v.l4 === 'udp' ? this.lookup(tUs, v, h) : undefined;
      // a client's handshake (window scale), usually before its flow exists (flows start downlink)
      if (isTcp && (v.tcpFlags & TCP_SYN) !== 0) this.policies.current.onClientSyn(tUs, h, v);
      if (flow !== undefined && flow.protocol === 'rtp' && !srtcp) {
        // RTP media or other packets of an RTP transport from the client: never delayed
        c.uplink.rtp++;
        c.uplinkPassedAtOnce++;
        return out;
      }
      if (flow === undefined) {
        c.uplink[isTcp ? 'tcp' : v.l4 === 'udp' ? 'udp' : 'other']++;
        c.uplinkUntracked++;
        return out;
      }
      c.uplink[flow.protocol]++;
      flow.upPackets++;
      out.flow = flow;
      return applyPolicyDecision(tUs, flow, flow.policy.onUplink(tUs, v, payload, this.queue, this.policyOut), payload, out, this.counters, this.gates, this.observer);
    } catch (err) {
      this.errors.internal(err);
      return out;
    }
  }

  /** Packets waiting in gates (feedbackUpdater.mode 'drain'), evicted flows' included. */
  get gatedPackets(): number {
    return this.gates.packets;
  }

  /**
   * Names, once per gated packet that may go at tUs, its flow (call every millisecond or two
   * while gatedPackets > 0): the caller releases that flow's oldest gated packet. onReleased
   * need not be called.
   */
  pollGates(tUs: number, release: GatedRelease): number {
    return this.gates.poll(tUs, this.opts.maxGatedPackets ?? Infinity, release);
  }

  /** Every gated packet out now, in order per flow (shutdown). */
  flushGates(release: GatedRelease): number {
    return this.gates.flush(release);
  }

  /**
   * The kernel's queue dropped `n` packets since the last reading at `sinceUs` (the qdisc's drop
   * counter): the `n` most recent arrivals after `sinceUs` are reported lost on their RTP
   * transports (before the feedback covering them is built, when the counter is read often
   * enough; a non-RTP packet is one of the n all the same). Returns how many were marked.
   */
  onKernelDrops(sinceUs: number, n: number): number {
    return this.recent.attribute(sinceUs, n, (key) => this.rtp?.markLostByMatchKey(key));
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
    return engineStatus({ ft: this.ft, lastPrediction: this.lastPrediction, flows: this.flows, stations: this.stations, nat: this.nat }, nowUs, maxFlows);
  }
}
