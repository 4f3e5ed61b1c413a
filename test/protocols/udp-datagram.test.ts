import { describe, expect, it } from 'vitest';
import { verifyIpv4HeaderChecksum, verifyL4Checksum } from '../../src/protocols/checksum.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { buildUdpDatagram, finishUdpDatagram, newUdpDatagram, type UdpDatagram } from '../../src/protocols/udp-datagram.js';

const PAYLOAD = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01]); // odd length: the checksum pads a zero byte

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** RFC 1071, written out independently of src/protocols/checksum.ts. */
function rfc1071(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

describe('buildUdpDatagram', () => {
  it('IPv4: golden bytes (TTL 64, DF, ID, TOS), checksums verified', () => {
    const d: UdpDatagram = { ...newUdpDatagram(), src0: 0x0a4e0201, dst0: 0x0a4e0101, srcPort: 43313, dstPort: 35281, tos: 0xb9, ipId: 0xfffe };
    const p = buildUdpDatagram(d, PAYLOAD);
    expect(hex(p)).toBe(
      '45b90021' + // version 4, IHL 5, TOS 0xb9 (DSCP EF, ECT(1)), total length 33
        'fffe4000' + // ID, DF
        '40112277' + // TTL 64, UDP, header checksum
        '0a4e0201' + // 10.78.2.1
        '0a4e0101' + // 10.78.1.1
        'a93189d1000d1696' + // ports 43313 -> 35281, length 13, checksum
        'deadbeef01',
    );
    expect(verifyIpv4HeaderChecksum(p, 0)).toBe(true);
    expect(verifyL4Checksum(p, 0)).toBe(true);
    expect(rfc1071([...p.subarray(0, 20)])).toBe(0);
    const pseudo = [...p.subarray(12, 20), 0, 17, 0, 13];
    expect(rfc1071([...pseudo, ...p.subarray(20)])).toBe(0);
    expect(d.ipId).toBe(0xfffe); // the caller owns the ID sequence
  });

  it('IPv6: golden bytes (hop limit 64, traffic class), checksum verified', () => {
    const d: UdpDatagram = {
      ...newUdpDatagram(),
      isIpv6: true,
      src0: 0x20010db8,
      src1: 0,
      src2: 1,
      src3: 2,
      dst0: 0x20010db8,
      dst1: 0,
      dst2: 0,
      dst3: 1,
      srcPort: 6000,
      dstPort: 5004,
      tos: 0xb8,
      ipId: 0x1234, // not in an IPv6 header
    };
    const p = buildUdpDatagram(d, PAYLOAD);
    expect(hex(p)).toBe(
      '6b800000' + // version 6, traffic class 0xb8, flow label 0
        '000d1140' + // payload length 13, next header UDP, hop limit 64
        '20010db8000000000000000100000002' +
        '20010db8000000000000000000000001' +
        '1770138c000ddac4' + // ports 6000 -> 5004, length 13, checksum
        'deadbeef01',
    );
    expect(verifyL4Checksum(p, 0)).toBe(true);
    const pseudo = [...p.subarray(8, 40), 0, 0, 0, 13, 0, 0, 0, 17];
    expect(rfc1071([...pseudo, ...p.subarray(40)])).toBe(0);
    const v = newPacketView();
    decodePacket(p, 'raw-ip', v);
    expect(v.tos).toBe(0xb8);
    expect(v.ttl).toBe(64);
  });
});

describe('finishUdpDatagram', () => {
  it('sets the lengths and checksums of a shortened IPv4 datagram with options', () => {
    const p = new Uint8Array(24 + 8 + 12);
    p.set([0x46, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 1, 1, 1, 0]); // IHL 6: NOP NOP NOP EOL
    p.set([0x13, 0x88, 0x13, 0x89], 24);
    p.fill(7, 32);
    const short = p.subarray(0, 24 + 8 + 5);
    finishUdpDatagram(short, 24);
    expect((short[2]! << 8) | short[3]!).toBe(37);
    expect((short[28]! << 8) | short[29]!).toBe(13);
    expect(verifyIpv4HeaderChecksum(short, 0)).toBe(true);
    expect(verifyL4Checksum(short, 0)).toBe(true);
  });

  it('sets the IPv6 payload length', () => {
    const d: UdpDatagram = { ...newUdpDatagram(), isIpv6: true, src3: 1, dst3: 2, srcPort: 1, dstPort: 2 };
    const p = buildUdpDatagram(d, new Uint8Array(10).fill(3));
    const short = p.subarray(0, 40 + 8 + 4);
    finishUdpDatagram(short, 40);
    expect((short[4]! << 8) | short[5]!).toBe(12);
    expect((short[44]! << 8) | short[45]!).toBe(12);
    expect(verifyL4Checksum(short, 0)).toBe(true);
  });
});
