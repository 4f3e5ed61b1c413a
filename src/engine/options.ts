/** The engine's options, its uplink decision and its observer (the daemon's hooks). */
import type { AckDelayerConfig } from '../feedback-updater/index.js';
import type { FortuneTellerConfig, Prediction } from '../fortune-teller/index.js';
import type { MalformedReason } from '../protocols/errors.js';
import type { PacketView } from '../protocols/packet.js';
import type { RtpFeedbackConfig } from '../engine/rtp/rtp-feedback.js';
import type { Flow } from './flow.js';

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
  /**
   * queue.backend mac80211: every Wi-Fi station has queues of its own (mac80211's per-station
   * TXQs) and a Fortune Teller of its own (station-queues.ts); departures come from the TXQ
   * counters (onTxqReading), and the wlan tap shows frames entering them.
   */
  perStationQueues?: boolean;
}

/**
 * 'hold': accept at releaseUs (the caller keeps the packet in order, then calls onReleased);
 * 'gate': the packet waits in its flow's gate (feedbackUpdater.mode 'drain'): the caller keeps it
 * in the flow's order and releases the flow's oldest gated packet each time pollGates() or
 * flushGates() names the flow.
 */
export type UplinkVerdict = 'accept' | 'hold' | 'drop' | 'rewrite' | 'gate';

export interface UplinkDecision {
  verdict: UplinkVerdict;
  /** release time (µs) when held */
  releaseUs: number;
  /** the flow the packet belongs to, when tracked (for onReleased and the gates) */
  flow: Flow | undefined;
  /** verdict 'rewrite': the replacement IP packet */
  payload: Uint8Array | undefined;
}

export const newUplinkDecision = (): UplinkDecision => ({ verdict: 'accept', releaseUs: 0, flow: undefined, payload: undefined });

export interface EngineObserver {
  /** every downlink arrival's prediction: its time, match key (flow-key.ts) and station queue (0: the default one) */
  onPrediction?(p: Prediction, tUs: number, matchKey: number, station: number): void;
  onAddedDelay?(addedDelayUs: number): void;
  /** called the first time a malformed reason is seen (a log line, never per packet) */
  onFirstMalformed?(reason: MalformedReason, what: string, direction: 'downlink' | 'uplink'): void;
  onInternalError?(err: unknown): void;
}
