/**
 * How each of the daemon's two taps is opened (tap-set.ts opens them): the wlan tap sees what
 * leaves for the clients, the eth tap what arrives for them. Read anew at each open, since an
 * interface re-created under its name may differ (MTU, addresses).
 */
import type { Config } from '../config/index.js';
import { maxFrameBytes } from './offloads.js';
import { bpfFilterFor, interfaceAddresses } from './subnets.js';
import type { TapArgs } from './tap-set.js';

/** The tap arguments for `dev`, one of the configuration's eth and wlan interfaces. */
export function tapArgsFor(dev: string, c: Config, subnets: readonly string[]): TapArgs {
  if (dev === c.interfaces.wlan) return { device: dev, direction: 'outbound', filter: bpfFilterFor(subnets), role: 'dep', snapLength: undefined, maxFrameBytes: maxFrameBytes(dev) };
  // the eth tap also sees what is addressed to the AP itself: the downlink of NATed clients
  // before de-NAT (the engine drops what it cannot attribute to a client)
  const ethFilter = bpfFilterFor(subnets, interfaceAddresses(dev));
  // whole packets when RTP drops may be sent again from zhuge's copy (drop-repair.ts)
  const ethSnap = c.flows.rtp.enabled && c.flows.rtp.repairDrops && c.flows.rtp.reportTiming === 'departure' && c.flows.rtp.signal !== 'remb' ? 2048 : undefined;
  return { device: dev, direction: 'inbound', filter: ethFilter, role: 'arr', snapLength: ethSnap, maxFrameBytes: maxFrameBytes(dev) };
}
