/**
 * What /status shows of the flows and the queue: ONE FlowStatus, built by the engine, served by
 * the daemon as is and read back by `zhuge status` (hence the optional fields: an older daemon
 * may not send them). Times in ms, rates in bit/s.
 */
import type { FortuneTeller, Prediction } from '../fortune-teller/index.js';
import { flowKeyToString } from '../protocols/flow-key.js';
import type { Flow } from './flow.js';
import type { FlowTable } from './flow-table.js';
import type { NatAliases } from './nat-aliases.js';
import type { StationQueues, StationQueueStatus } from './station-queues.js';

/**
 * A flow's feedback treatment: ack-delay (out-of-band feedback through an uplink policy, TCP/QUIC),
 * twcc, ccfb (RFC 8888), srtcp-delay (encrypted RTCP fallback) for RTP transports, passthrough.
 */
export const FLOW_MODES = ['ack-delay', 'twcc', 'ccfb', 'srtcp-delay', 'passthrough'] as const;
export type FlowMode = (typeof FLOW_MODES)[number];

/** One flow in /status. */
export interface FlowStatus {
  /** Human-readable 5-tuple, e.g. "udp 10.0.0.2:5004 > 192.168.1.20:40000" (server > client). */
  flow: string;
  protocol: string;
  mode: FlowMode;
  /** Latest predicted delay of the queue this flow's downlink goes through (ms). */
  predictedDelayMs: number;
  /** Uplink packets of this flow currently held. */
  heldPackets: number;
  /** Mean delay added to this flow's held uplink packets (ms). */
  addedDelayMs?: number;
  /** Time since the flow's last packet (ms). */
  idleMs?: number;
  /** The latest prediction's parts (ms). */
  qLongMs?: number;
  qShortMs?: number;
  txMs?: number;
  /** Uplink packets held since the flow started. */
  heldTotal?: number;
  downPackets?: number;
  upPackets?: number;
  /** feedbackUpdater.mode window: the client's window shift (-1 unknown), RTT beyond the AP (ms, -1 unknown), its samples (1 = the handshake's only), ACKs clamped. */
  window?: { shift: number; baseRttMs: number; rttSamples?: number; clampedAcks: number };
}

export interface EngineStatus {
  queue: {
    bytesInQueue: number;
    packetsInQueue: number;
    dequeueRateBps: number;
    lastPrediction: { qLongMs: number; qShortMs: number; txMs: number; totalMs: number } | undefined;
  };
  /** queue.backend mac80211: each station's queue (mac as a number) */
  stations?: StationQueueStatus[];
  flowsActive: number;
  flows: FlowStatus[];
  /** learnt NAT aliases (public > private), at most 20 */
  natAliases: string[];
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Cold path: one flow's status at nowUs. */
export function flowStatus(f: Flow, lastSeenUs: number, nowUs: number): FlowStatus {
  const window = f.policy.windowStatus();
  return {
    flow: flowKeyToString(f.key),
    protocol: f.protocol,
    mode: 'ack-delay',
    predictedDelayMs: round3(f.lastTotalMs),
    heldPackets: f.pending,
    addedDelayMs: f.heldPackets > 0 ? round3(f.addedDelaySumUs / f.heldPackets / 1000) : 0,
    idleMs: Math.round((nowUs - lastSeenUs) / 1000),
    qLongMs: round3(f.lastQLongMs),
    qShortMs: round3(f.lastQShortMs),
    txMs: round3(f.lastTxMs),
    heldTotal: f.heldPackets,
    downPackets: f.downPackets,
    upPackets: f.upPackets,
    ...(window !== undefined ? { window } : {}),
  };
}

/** Cold path: a prediction rounded for /status. */
export function predictionStatus(p: Prediction | undefined): EngineStatus['queue']['lastPrediction'] {
  return p === undefined ? undefined : { qLongMs: round3(p.qLongMs), qShortMs: round3(p.qShortMs), txMs: round3(p.txMs), totalMs: round3(p.totalMs) };
}

/** What the engine's parts show in /status: the default queue, the stations' (mac80211), the first `maxFlows` flows, NAT aliases. */
export function engineStatus(
  e: { ft: FortuneTeller; lastPrediction: Prediction | undefined; flows: FlowTable<number, Flow>; stations: StationQueues | undefined; nat: NatAliases },
  nowUs: number,
  maxFlows: number,
): EngineStatus {
  const flows: FlowStatus[] = [];
  for (const [, f, lastSeenUs] of e.flows.entries()) {
    if (flows.length >= maxFlows) break;
    flows.push(flowStatus(f, lastSeenUs, nowUs));
  }
  return {
    queue: {
      bytesInQueue: e.ft.queue.bytesInQueue,
      packetsInQueue: e.ft.queue.packetsInQueue,
      dequeueRateBps: Math.round(e.ft.rate.rateBps),
      lastPrediction: predictionStatus(e.lastPrediction),
    },
    ...(e.stations !== undefined ? { stations: e.stations.status() } : {}),
    flowsActive: e.flows.size,
    flows,
    natAliases: e.nat.list(20),
  };
}
