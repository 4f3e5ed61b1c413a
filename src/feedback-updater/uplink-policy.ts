/**
 * The uplink policy: what the AP does to a treated flow's out-of-band feedback (TCP ACKs, QUIC
 * packets; the SRTCP-delay fallback of RTP transports) — feedbackUpdater.mode.
 *
 *   increments  the paper's rule (increments-policy.ts): sampled predicted-delay increments,
 *               tokens, the ordered scheduler; a release time per packet
 *   drain       the drain gate (drain-policy.ts): packets wait while the queue is long
 *   window      the receive-window clamp (window-policy.ts): TCP ACKs rewritten, never delayed;
 *               other flows keep the paper's rule
 *
 * Contract (every policy):
 *  - A policy only decides. It never holds a packet, a buffer or a queue id: onUplink returns a
 *    decision (pass, a release time, a gate, a rewrite in place); the caller keeps the packet.
 *  - One UplinkPolicy instance per flow owns that flow's state (created by UplinkPolicies.newFlow
 *    of the engine's mode; a flow keeps the policy it was created with across reloads). What the
 *    flows of a mode share (RNG, window-scale table, active-flow count) and the mode's counters
 *    are owned by its UplinkPolicies.
 *  - Pure and time-driven: times (µs, the caller's monotonic clock) and the queue's readings are
 *    passed in; no I/O, no timers, no allocation per packet on the common path.
 *  - Order: a flow's packets leave in arrival order. 'hold' times of one flow never decrease;
 *    'gate' means the packet waits behind the flow's earlier gated packets and leaves when poll()
 *    (or releaseOldest / flush) releases that many of the flow; a packet passed at once while the
 *    flow has gated packets is never returned.
 *  - Never throws on traffic: a packet the policy cannot read passes.
 */
import type { PacketView } from '../protocols/packet.js';

/** The per-flow policies: the paper's increments, the drain gate, the window clamp. */
export type UplinkPolicyKind = 'increments' | 'drain' | 'window';

/**
 * A policy's decision for one uplink packet (one reusable object, filled in):
 *  - 'pass': accept now;
 *  - 'hold': accept at releaseUs (>= tUs; the caller keeps it in order with the flow's held packets);
 *  - 'gate': wait in the flow's gate until poll() releases it;
 *  - 'rewrite': accept now, the payload was rewritten in place.
 */
export interface PolicyDecision {
  action: 'pass' | 'hold' | 'gate' | 'rewrite';
  /** 'hold': the release time (µs) */
  releaseUs: number;
}

/** What a policy reads of the queue it acts on (the Fortune Teller), at the time passed in. */
export interface QueueReadings {
  /** Queueing delay a packet of the flow with this canonical hash would see at tUs (ms). */
  queueDelayMs(tUs: number, flowHash: number): number;
  /** The dequeue-rate estimate (bit/s) of the queue the flow with this canonical hash waits in. */
  rateBps(flowHash: number): number;
  /** The flow's max-min fair share of rateBps (bit/s) under per-flow queues; -1 for a FIFO. */
  fairShareBps(tUs: number, rateBps: number): number;
}

/** A gated packet left (at the poll's time); `arrivalTUs`: when it arrived. */
export type GateRelease = (arrivalTUs: number) => void;

/** feedbackUpdater.mode 'window': what a clamped flow shows in the status. */
export interface WindowStatus {
  /** the client's window shift (-1 unknown) */
  shift: number;
  /** the RTT beyond the AP (ms, -1 unknown) */
  baseRttMs: number;
  /** RTT samples (1 = the handshake's only: a client without TCP timestamps) */
  rttSamples: number;
  clampedAcks: number;
}

/** One flow's uplink policy. */
export interface UplinkPolicy {
  readonly kind: UplinkPolicyKind;
  /** A downlink packet of the flow (`v` decoded from `data`) arrived with predicted total delay totalMs (Infinity: predicted dropped). */
  onDownlink(tUs: number, v: PacketView, data: Uint8Array, totalMs: number, wireBytes: number): void;
  /** Decides for one uplink packet of the flow (`v` decoded from `payload`, raw IP). */
  onUplink(tUs: number, v: PacketView, payload: Uint8Array, q: QueueReadings, out: PolicyDecision): PolicyDecision;
  /** Packets of the flow in its gate (0 but for 'drain'). */
  readonly gated: number;
  /** Releases, in order, the gated packets that may leave at tUs. Returns the count. */
  poll(tUs: number, q: QueueReadings, release: GateRelease): number;
  /** Releases up to n of the oldest gated packets whatever the queue (the caller's bound). */
  releaseOldest(n: number, release: GateRelease): number;
  /** Everything gated out now, in order (shutdown, eviction). */
  flush(release: GateRelease): number;
  /** The clamp's state ('window' on TCP), else undefined. */
  windowStatus(): WindowStatus | undefined;
}

/** The policies of one feedbackUpdater.mode: the per-flow factory, and what its flows share. */
export interface UplinkPolicies {
  /** A flow was created at tUs (canonical hash `flowHash`). */
  newFlow(tUs: number, flowHash: number, isTcp: boolean): UplinkPolicy;
  /** A client's TCP SYN or SYN-ACK went up (`v` decoded); before its flow exists, usually. */
  onClientSyn(tUs: number, flowHash: number, v: PacketView): void;
  /** A sender's TCP SYN or SYN-ACK left the Wi-Fi queue (where NAT was undone). */
  onSenderSyn(flowHash: number, v: PacketView): void;
}
