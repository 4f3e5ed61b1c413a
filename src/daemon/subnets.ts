/** The client subnets: from the wlan interface, as BPF filters, as a per-packet test (pure but for the interface lookups). */
import { networkInterfaces } from 'node:os';
import type { Config } from '../config/index.js';
import { parseIpv4Address } from '../protocols/ipv4.js';
import { formatIpv6, parseIpv6Address } from '../protocols/ipv6.js';
import type { PacketView } from '../protocols/packet.js';

/** The wlan interface's own prefixes: the default client subnets. */
export function interfaceSubnets(dev: string): string[] {
  const addrs = networkInterfaces()[dev] ?? [];
  const out: string[] = [];
  for (const a of addrs) {
    if (a.internal || a.cidr === null) continue;
    if (a.family === 'IPv6' && a.address.startsWith('fe80')) continue;
    const [addr, len] = a.cidr.split('/');
    if (addr === undefined || len === undefined) continue;
    out.push(`${networkAddress(addr, Number(len), a.family === 'IPv6')}/${len}`);
  }
  return out;
}

/** The configured client subnets, else the prefixes of the wlan interface (of its bridge when it is a port of one). */
export function clientSubnetsOf(c: Config, bridge: string | undefined): string[] {
  return c.flows.clientSubnets.length > 0 ? [...c.flows.clientSubnets] : interfaceSubnets(bridge ?? c.interfaces.wlan);
}

/** The network address of `addr`/`len` (host bits cleared), as libpcap and iptables want it. */
export function networkAddress(addr: string, len: number, v6: boolean): string {
  if (v6) {
    // libpcap refuses host bits in `net ADDR/LEN` ("non-network bits set"), and so does reading
    // the prefix: mask the address, 32 bits at a time
    const w = parseIpv6Address(addr);
    if (w === undefined) return addr;
    const m = w.map((x, i) => {
      const bits = Math.max(0, Math.min(32, len - 32 * i));
      return bits === 0 ? 0 : (x & (bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits))) >>> 0;
    });
    return formatIpv6(m[0] ?? 0, m[1] ?? 0, m[2] ?? 0, m[3] ?? 0);
  }
  const parts = addr.split('.').map(Number);
  const n = (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const m = (n & mask) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}

/**
 * The interface's own addresses (no link-local IPv6): behind NAT the downlink reaches eth
 * addressed to them, before de-NAT.
 */
export function interfaceAddresses(dev: string): string[] {
  const out: string[] = [];
  for (const a of networkInterfaces()[dev] ?? []) {
    if (a.internal) continue;
    if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')) continue;
    out.push(a.address);
  }
  return out;
}

/**
 * BPF filter of a tap: IP packets to the client subnets, and (eth tap) to `ownHosts`, the AP's
 * addresses on eth (NATed downlink before de-NAT).
 */
export function bpfFilterFor(subnets: readonly string[], ownHosts: readonly string[] = []): string {
  const ip = '(ip or ip6)';
  if (subnets.length === 0) return ip;
  const terms = [...subnets.map((s) => `dst net ${s}`), ...ownHosts.map((h) => `dst host ${h}`)];
  return `${ip} and (${terms.join(' or ')})`;
}

/**
 * A downlink destination test for the engine (isClient) from CIDR prefixes; invalid entries are
 * ignored (config validation reports them). Cold to build, allocation-free to call.
 */
export function subnetMatcher(subnets: readonly string[]): (v: PacketView) => boolean {
  const v4: Array<[number, number]> = [];
  const v6: Array<[number, number, number, number, number, number, number, number]> = [];
  const maskOf = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);
  for (const s of subnets) {
    const [addr, lenText] = s.split('/');
    if (addr === undefined) continue;
    if (addr.includes(':')) {
      const w = parseIpv6Address(addr);
      if (w === undefined) continue;
      const len = lenText === undefined ? 128 : Number(lenText);
      const m = [0, 1, 2, 3].map((i) => maskOf(len - 32 * i));
      v6.push([(w[0] & m[0]!) >>> 0, (w[1] & m[1]!) >>> 0, (w[2] & m[2]!) >>> 0, (w[3] & m[3]!) >>> 0, m[0]!, m[1]!, m[2]!, m[3]!]);
    } else {
      const a = parseIpv4Address(addr);
      if (a === undefined) continue;
      const m = maskOf(lenText === undefined ? 32 : Number(lenText));
      v4.push([(a & m) >>> 0, m]);
    }
  }
  // flat typed arrays: the test runs per downlink arrival
  const f4 = Uint32Array.from(v4.flat());
  const f6 = Uint32Array.from(v6.flat());
  return (v: PacketView): boolean => {
    if (v.l3 === 'ipv4') {
      for (let i = 0; i < f4.length; i += 2) if ((v.dst0 & f4[i + 1]!) >>> 0 === f4[i]) return true;
      return false;
    }
    if (v.l3 === 'ipv6') {
      for (let i = 0; i < f6.length; i += 8) {
        if (
          (v.dst0 & f6[i + 4]!) >>> 0 === f6[i] &&
          (v.dst1 & f6[i + 5]!) >>> 0 === f6[i + 1] &&
          (v.dst2 & f6[i + 6]!) >>> 0 === f6[i + 2] &&
          (v.dst3 & f6[i + 7]!) >>> 0 === f6[i + 3]
        ) return true; // prettier-ignore
      }
      return false;
    }
    return false;
  };
}

