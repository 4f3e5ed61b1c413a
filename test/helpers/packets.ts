/** Builds raw IPv4 TCP/UDP packets (valid checksums) for engine and daemon tests. */
import { fixIpPacketChecksums } from '../../src/protocols/checksum.js';
import { parseIpv4Address } from '../../src/protocols/ipv4.js';

export interface Ip4Endpoint {
  addr: string;
  port: number;
}

let nextIpId = 1;

function ipv4Header(buf: Uint8Array, totalLength: number, protocol: number, src: string, dst: string, ipId?: number): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint8(0, 0x45);
  dv.setUint8(1, 0);
  dv.setUint16(2, totalLength);
  dv.setUint16(4, ipId ?? nextIpId++ & 0xffff);
  dv.setUint16(6, 0x4000);
  dv.setUint8(8, 64);
  dv.setUint8(9, protocol);
  dv.setUint32(12, parseIpv4Address(src) ?? 0);
  dv.setUint32(16, parseIpv4Address(dst) ?? 0);
}

export function tcpPacket(
  src: Ip4Endpoint,
  dst: Ip4Endpoint,
  opts: {
    flags?: number;
    seq?: number;
    ack?: number;
    payloadBytes?: number;
    ipId?: number;
    window?: number;
    /** window-scale option (NOP, kind 3) with this shift */
    wscale?: number;
    /** timestamp option (NOP NOP, kind 8) with this TSval and tsEcr (default 0) */
    tsVal?: number;
    tsEcr?: number;
  } = {},
): Uint8Array {
  const payload = opts.payloadBytes ?? 0;
  const optBytes = (opts.wscale !== undefined ? 4 : 0) + (opts.tsVal !== undefined ? 12 : 0);
  const hl = 20 + optBytes;
  const total = 20 + hl + payload;
  const buf = new Uint8Array(total);
  ipv4Header(buf, total, 6, src.addr, dst.addr, opts.ipId);
  const dv = new DataView(buf.buffer);
  dv.setUint16(20, src.port);
  dv.setUint16(22, dst.port);
  dv.setUint32(24, opts.seq ?? 1);
  dv.setUint32(28, opts.ack ?? 1);
  dv.setUint8(32, (hl / 4) << 4);
  dv.setUint8(33, opts.flags ?? 0x10);
  dv.setUint16(34, opts.window ?? 65535);
  let o = 40;
  if (opts.wscale !== undefined) {
    buf.set([1, 3, 3, opts.wscale], o);
    o += 4;
  }
  if (opts.tsVal !== undefined) {
    buf.set([1, 1, 8, 10], o);
    dv.setUint32(o + 4, opts.tsVal);
    dv.setUint32(o + 8, opts.tsEcr ?? 0);
  }
  for (let i = 0; i < payload; i++) buf[20 + hl + i] = (i * 7 + (opts.seq ?? 0)) & 0xff;
  fixIpPacketChecksums(buf, 0);
  return buf;
}

export function udpPacket(src: Ip4Endpoint, dst: Ip4Endpoint, payload: Uint8Array, ipId?: number): Uint8Array {
  const total = 20 + 8 + payload.length;
  const buf = new Uint8Array(total);
  ipv4Header(buf, total, 17, src.addr, dst.addr, ipId);
  const dv = new DataView(buf.buffer);
  dv.setUint16(20, src.port);
  dv.setUint16(22, dst.port);
  dv.setUint16(24, 8 + payload.length);
  buf.set(payload, 28);
  fixIpPacketChecksums(buf, 0);
  return buf;
}
