/**
 * Which downlink packets the engine treats (flows.tcp/quic ports, flows.dscp, the client
 * subnets): one selection policy, pure.
 */
import type { PacketView } from '../protocols/packet.js';

/** Not a fragment, its server port listed (none listed: every port), its DSCP listed (none listed: every DSCP), to a client. */
export function treatableDownlink(v: PacketView, ports: ReadonlySet<number>, dscp: ReadonlySet<number>, isClient: ((v: PacketView) => boolean) | undefined): boolean {
  if (v.isFragment) return false;
  if (ports.size > 0 && !ports.has(v.srcPort)) return false;
  if (dscp.size > 0 && !dscp.has(v.tos >>> 2)) return false;
  return isClient === undefined || isClient(v);
}
