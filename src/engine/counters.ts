/**
 * The engine's counters: plain numbers the hot path increments (prom-client never runs per
 * packet; the daemon copies them periodically). Each part defines its own counters (NAT:
 * nat-aliases.ts, drops: drop-attribution.ts, the uplink policies: src/feedback-updater/) and
 * the engine holds them in this one object.
 */
import type { DrainCounters, WindowCounters } from '../feedback-updater/index.js';
import { zeroDrainCounters, zeroWindowCounters } from '../feedback-updater/index.js';
import type { MalformedReason } from '../protocols/errors.js';
import type { DropCounters } from './drop-attribution.js';
import { zeroNatCounters, type NatCounters } from './nat-aliases.js';

/** The protocol label of a packet (counters, metrics). */
export const PROTOCOLS = ['tcp', 'udp', 'quic', 'rtp', 'rtcp', 'other'] as const;
export type ProtocolLabel = (typeof PROTOCOLS)[number];

export interface EngineCounters extends NatCounters, DropCounters, DrainCounters, WindowCounters {
  downlinkArrivals: Record<ProtocolLabel, number>;
  downlinkDepartures: number;
  uplink: Record<ProtocolLabel, number>;
  malformed: Record<MalformedReason, number>;
  uplinkHeld: number;
  uplinkPassedAtOnce: number;
  /** downlink packets predicted dropped by the AP queue (full at arrival) */
  predictedQueueDrops: number;
  /** client feedback removed (dropped or rewritten without its TWCC/CCFB part) */
  uplinkDropped: number;
  uplinkRewritten: number;
  uplinkUntracked: number;
  /** uplink packets claiming a client's address from another link-layer address (a forgery, or a client that just roamed): passed untouched */
  uplinkForeignMac: number;
  flowsCreated: number;
  flowsEvictedIdle: number;
  flowsEvictedCapacity: number;
  hashCollisions: number;
  /** NAT: downlink arrivals to a non-client address without an alias (not fed to the queue model) */
  natUnresolved: number;
  /** unexpected exceptions from the engine itself (bugs), caught so traffic never stops */
  internalErrors: number;
}

const zeroProtocols = (): Record<ProtocolLabel, number> => ({ tcp: 0, udp: 0, quic: 0, rtp: 0, rtcp: 0, other: 0 });

export const zeroEngineCounters = (): EngineCounters => ({
  downlinkArrivals: zeroProtocols(),
  downlinkDepartures: 0,
  uplink: zeroProtocols(),
  malformed: { truncated: 0, 'bad-version': 0, 'bad-length': 0, 'bad-header': 0, 'bad-checksum': 0, unsupported: 0 },
  uplinkHeld: 0,
  uplinkPassedAtOnce: 0,
  predictedQueueDrops: 0,
  kernelDropsAttributed: 0,
  uplinkDropped: 0,
  uplinkRewritten: 0,
  uplinkUntracked: 0,
  uplinkForeignMac: 0,
  flowsCreated: 0,
  flowsEvictedIdle: 0,
  flowsEvictedCapacity: 0,
  hashCollisions: 0,
  ...zeroNatCounters(),
  natUnresolved: 0,
  internalErrors: 0,
  ...zeroDrainCounters(),
  ...zeroWindowCounters(),
});
