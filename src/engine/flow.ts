/** A treated flow of the engine's flow table (downlink direction: server -> client). */
import type { UplinkPolicy } from '../feedback-updater/index.js';
import { flowKeyFromView, type FlowKey } from '../protocols/flow-key.js';
import type { PacketView } from '../protocols/packet.js';

/** What a treated flow carries (an RTP flow: a transport with the SRTCP-delay fallback). */
export type FlowProtocol = 'tcp' | 'quic' | 'rtp';

export interface Flow {
  readonly key: FlowKey;
  /** canonical 5-tuple hash (the table's key) */
  readonly hash: number;
  readonly protocol: FlowProtocol;
  /** what happens to its uplink feedback (feedbackUpdater.mode when the flow was created) */
  readonly policy: UplinkPolicy;
  /** uplink packets waiting for release (held or gated) */
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
}

export function newFlow(tUs: number, v: PacketView, hash: number, protocol: FlowProtocol, policy: UplinkPolicy): Flow {
  return {
    key: flowKeyFromView(v),
    hash,
    protocol,
    policy,
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
  };
}
