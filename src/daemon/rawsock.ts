/**
 * Raw IP sender: the TypeScript face of zhuge's N-API addon native/rawsock (socket(AF_INET,
 * SOCK_RAW, IPPROTO_RAW), IP_HDRINCL implied; IPv6 likewise with IPV6_HDRINCL). Used to inject the
 * feedback packets RtpFeedback builds (complete IP packets "from" the Wi-Fi client to the server):
 * the kernel routes them by their destination like any locally generated packet, so on the AP
 * they leave through the eth side towards the server. They do not traverse FORWARD, so zhuge's
 * own NFQUEUE rules never see them.
 *
 * The kernel fills in the IPv4 header checksum (and an IP ID when it is 0) for IPPROTO_RAW;
 * RtpFeedback computes both itself anyway, so the packet is right whatever the kernel does.
 *
 * Build: `npx node-gyp rebuild --directory native/rawsock --nodedir=/usr`.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpv4 } from '../protocols/ipv4.js';
import { formatIpv6 } from '../protocols/ipv6.js';
import { packageRoot } from './nfqueue.js';

interface NativeRawSocket {
  send(packet: Uint8Array, dstAddr: string): number;
  close(): void;
  readonly fd: number;
}

interface NativeModule {
  RawSocket: new (family: 4 | 6, netns?: string) => NativeRawSocket;
}

const ADDON_REL = join('native', 'rawsock', 'build', 'Release', 'zhuge_rawsock.node');

export function rawsockAddonPath(): string {
  return join(packageRoot(), ADDON_REL);
}

let cached: NativeModule | undefined;
function loadNative(): NativeModule {
  if (cached !== undefined) return cached;
  const path = rawsockAddonPath();
  if (!existsSync(path)) {
    throw new Error(`raw socket addon not built (${path}); run: npx node-gyp rebuild --directory native/rawsock --nodedir=/usr`);
  }
  const req = createRequire(import.meta.url);
  cached = req(path) as NativeModule;
  return cached;
}

/** Whether RawSender.open() can work here: Linux, the addon is built, and we are root (CAP_NET_RAW). */
export function rawsockAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'raw IP sockets need Linux' };
  try {
    loadNative();
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'raw IP sockets need root (CAP_NET_RAW)' };
  return { ok: true };
}

/**
 * The destination address of a complete IP packet, as text for the addon; undefined when the
 * buffer is not a whole IPv4/IPv6 header.
 */
export function ipDestination(packet: Uint8Array): { family: 4 | 6; addr: string } | undefined {
  if (packet.length < 1) return undefined;
  const ver = packet[0]! >> 4;
  if (ver === 4) {
    if (packet.length < 20) return undefined;
    const d = ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0;
    return { family: 4, addr: formatIpv4(d) };
  }
  if (ver === 6) {
    if (packet.length < 40) return undefined;
    const w = (o: number): number => ((packet[o]! << 24) | (packet[o + 1]! << 16) | (packet[o + 2]! << 8) | packet[o + 3]!) >>> 0;
    return { family: 6, addr: formatIpv6(w(24), w(28), w(32), w(36)) };
  }
  return undefined;
}

export interface RawSenderOptions {
  /** open the IPv4 socket (default true) */
  ipv4?: boolean;
  /** open the IPv6 socket (default true; a host without IPv6 just has no v6 socket) */
  ipv6?: boolean;
  /** create the sockets in this network namespace (a name under /var/run/netns or a path) */
  netns?: string;
}

export interface RawSenderStats {
  sent: number;
  sentBytes: number;
  errors: number;
  lastError: string | undefined;
}

/** One raw socket per family; send() picks the family and destination from the packet itself. */
export class RawSender {
  readonly stats: RawSenderStats = { sent: 0, sentBytes: 0, errors: 0, lastError: undefined };

  private constructor(
    private v4: NativeRawSocket | undefined,
    private v6: NativeRawSocket | undefined,
  ) {}

  /** Opens the sockets. Throws (with errno text) when the IPv4 socket cannot be opened. */
  static open(opts: RawSenderOptions = {}): RawSender {
    const m = loadNative();
    const ns = opts.netns;
    const v4 = opts.ipv4 === false ? undefined : ns === undefined ? new m.RawSocket(4) : new m.RawSocket(4, ns);
    let v6: NativeRawSocket | undefined;
    if (opts.ipv6 !== false) {
      try {
        v6 = ns === undefined ? new m.RawSocket(6) : new m.RawSocket(6, ns);
      } catch (e) {
        if (v4 === undefined) throw e; // IPv6 alone was asked for
        v6 = undefined; // no IPv6 on this host: IPv4 still works
      }
    }
    return new RawSender(v4, v6);
  }

  get hasIpv4(): boolean {
    return this.v4 !== undefined;
  }

  get hasIpv6(): boolean {
    return this.v6 !== undefined;
  }

  /**
   * Sends one complete IP packet to the destination in its header. Returns the bytes sent.
   * Throws an Error with the errno text (EMSGSIZE, ENETUNREACH, EPERM...) or when the packet is
   * not an IP packet of an opened family; the failure is also counted in stats.
   */
  send(ipPacket: Uint8Array): number {
    const dst = ipDestination(ipPacket);
    const sock = dst === undefined ? undefined : dst.family === 4 ? this.v4 : this.v6;
    try {
      if (dst === undefined) throw new Error('rawsock: not an IPv4/IPv6 packet');
      if (sock === undefined) throw new Error(`rawsock: no IPv${dst.family} socket open`);
      const n = sock.send(ipPacket, dst.addr);
      this.stats.sent++;
      this.stats.sentBytes += n;
      return n;
    } catch (e) {
      this.stats.errors++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
  }

  /** Closes both sockets (idempotent). */
  close(): void {
    this.v4?.close();
    this.v6?.close();
    this.v4 = undefined;
    this.v6 = undefined;
  }
}
