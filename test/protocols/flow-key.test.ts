import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixIpPacketChecksums, fixIpv4HeaderChecksum, verifyIpv4HeaderChecksum, verifyL4Checksum } from '../../src/protocols/checksum.js';
import {
  canonicalFlowHash, canonicalFlowKey, flowHash, flowKeyEquals, flowKeyFromView, flowKeyHash, flowKeyStringOfView, flowKeyToString,
  isCanonicalDirection, isCanonicalKey, newFlowKey, packetMatchKey, reverseFlowKey, viewMatchesFlowKey,
} from '../../src/protocols/flow-key.js';
import { decodePacket, newPacketView, type PacketView } from '../../src/protocols/packet.js';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { seededRng } from '../../src/feedback-updater/rng.js';
import { udpPacket } from '../helpers/packets.js';
import { golden, packetArb, type BuiltPacket } from './packet.helpers.js';

const FIXTURES = new URL('../../../shared/fixtures/webrtc/', import.meta.url);

function decoded(p: BuiltPacket): PacketView {
  const v = newPacketView();
  decodePacket(p.bytes, p.link, v);
  return v;
}

/** The same packet with addresses and ports swapped (the other direction of the flow). */
function swapped(v: PacketView): PacketView {
  return {
    ...v,
    src0: v.dst0, src1: v.dst1, src2: v.dst2, src3: v.dst3, dst0: v.src0, dst1: v.src1, dst2: v.src2, dst3: v.src3,
    srcPort: v.dstPort, dstPort: v.srcPort,
  };
}

describe('flow keys', () => {
  it('format the directional and canonical keys (cold path)', () => {
    const v = newPacketView();
    decodePacket(golden('eth_vlan_ipv4_udp'), 'ethernet', v);
    expect(flowKeyStringOfView(v)).toBe('udp 10.78.1.1:5004>10.78.2.1:6000');
    decodePacket(golden('sll2_ipv6_udp'), 'sll2', v);
    expect(flowKeyStringOfView(v)).toBe('udp [2001:db8:0:1::2]:33333>[2001:db8::1]:53');
    expect(flowKeyStringOfView(v, true)).toBe('udp [2001:db8::1]:53>[2001:db8:0:1::2]:33333');
    decodePacket(golden('eth_ipv4_tcp_syn'), 'ethernet', v);
    expect(flowKeyToString(reverseFlowKey(flowKeyFromView(v)))).toBe('tcp 10.0.0.2:443>192.168.1.10:40000');
  });

  it('fragments and non-TCP/UDP packets key with ports 0', () => {
    const v = newPacketView();
    decodePacket(golden('eth_ipv4_frag2'), 'ethernet', v);
    expect(flowKeyStringOfView(v)).toBe('udp 192.168.1.10:0>10.0.0.2:0');
  });

  it('directional hash = hash of the copied key; canonical hash is the same both ways', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const v = decoded(p);
        const r = swapped(v);
        const k = flowKeyFromView(v);
        expect(flowHash(v)).toBe(flowKeyHash(k));
        expect(flowHash(r)).toBe(flowKeyHash(reverseFlowKey(k)));
        expect(canonicalFlowHash(v)).toBe(canonicalFlowHash(r));
        expect(canonicalFlowHash(v)).toBe(flowKeyHash(canonicalFlowKey(k)));
        expect(isCanonicalDirection(v) || isCanonicalDirection(r)).toBe(true);
        expect(flowKeyEquals(canonicalFlowKey(k), canonicalFlowKey(reverseFlowKey(k)))).toBe(true);
        expect(isCanonicalKey(canonicalFlowKey(k))).toBe(true);
        expect(flowKeyEquals(reverseFlowKey(reverseFlowKey(k)), k)).toBe(true);
        expect(viewMatchesFlowKey(v, k)).toBe(true);
        expect(viewMatchesFlowKey(r, k, true)).toBe(true);
        const sameEnds = v.src0 === v.dst0 && v.src1 === v.dst1 && v.src2 === v.dst2 && v.src3 === v.dst3 && v.srcPort === v.dstPort;
        if (!sameEnds) expect(viewMatchesFlowKey(r, k)).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });

  it('reverse/canonical work in place', () => {
    const v = newPacketView();
    decodePacket(golden('eth_ipv4_tcp_syn'), 'ethernet', v);
    const k = flowKeyFromView(v, newFlowKey());
    const copy = { ...k };
    reverseFlowKey(k, k);
    expect([k.src0, k.srcPort, k.dst0, k.dstPort]).toEqual([copy.dst0, copy.dstPort, copy.src0, copy.srcPort]);
    canonicalFlowKey(k, k);
    expect(isCanonicalKey(k)).toBe(true);
  });

  it('hashes spread: 10k random tuples, almost no collisions, low byte evenly used', () => {
    const samples = fc.sample(packetArb, { numRuns: 10000, seed: 42 });
    const hashes = new Set<number>();
    const tuples = new Set<string>();
    const buckets = new Array<number>(256).fill(0);
    for (const p of samples) {
      const v = decoded(p);
      tuples.add(flowKeyStringOfView(v));
      const h = flowHash(v);
      hashes.add(h);
      buckets[h & 255]!++;
    }
    // birthday bound for 10k values in 2^32: ~0.01 expected collisions
    expect(tuples.size - hashes.size).toBeLessThanOrEqual(2);
    const expected = samples.length / 256;
    const chi2 = buckets.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(350); // 255 dof: p99.9 ~ 330; a broken mix gives thousands
  });
});

describe('the Chromium capture (one UDP 5-tuple, both directions)', () => {
  it('gives one canonical key and two directional keys', () => {
    const v = newPacketView();
    const dir = new Set<number>();
    const canon = new Set<number>();
    const names = new Set<string>();
    for (const r of readCapture(readFileSync(new URL('chromium-plaintext-4s.pcap', FIXTURES)))) {
      decodePacket(r.data, 'ethernet', v);
      dir.add(flowHash(v));
      canon.add(canonicalFlowHash(v));
      names.add(flowKeyStringOfView(v, true));
    }
    expect([dir.size, canon.size]).toEqual([2, 1]);
    expect([...names]).toEqual(['udp 10.78.1.1:35281>10.78.2.1:43313']); // tshark -z conv,udp: 10.78.2.1:43313 <-> 10.78.1.1:35281
  });
});

describe('packetMatchKey', () => {
  /** Simulates IPv4 forwarding: TTL - 1, header checksum fixed, frame re-encapsulated as raw IP (another link). */
  function forwarded(frame: Uint8Array, ipOffset: number): Uint8Array {
    const ip = Uint8Array.from(frame.subarray(ipOffset));
    ip[8] = (ip[8]! - 1) & 0xff;
    fixIpv4HeaderChecksum(ip, 0);
    return ip;
  }

  it('is the same at ingress and after forwarding, distinct across the capture', () => {
    const a = newPacketView();
    const b = newPacketView();
    const keys = new Set<number>();
    let n = 0;
    for (const r of readCapture(readFileSync(new URL('chromium-plaintext-4s.pcap', FIXTURES)))) {
      decodePacket(r.data, 'ethernet', a);
      const out = forwarded(r.data, a.ipOffset);
      expect(verifyIpv4HeaderChecksum(out, 0)).toBe(true);
      decodePacket(out, 'raw-ip', b);
      expect(b.ttl).toBe((a.ttl - 1) & 0xff);
      const k = packetMatchKey(a, r.data);
      expect(packetMatchKey(b, out)).toBe(k);
      keys.add(k);
      n++;
    }
    expect(keys.size).toBe(n); // every packet of the call is told apart (790)
  });

  it('tells QUIC short-header packets apart: IP ID 0 and a constant first 16 bytes (ngtcp2\'s server)', () => {
    // an unconnected UDP socket with DF sends IP ID 0; a short header is the flags byte (5 bits
    // header-protected) then an 18-byte connection id: 16 payload bytes take at most 32 values
    const rnd = seededRng(7);
    const dcid = Uint8Array.from({ length: 18 }, (_, i) => 0xa0 + i);
    const full = new Set<number>();
    const headOnly = new Set<number>();
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const payload = new Uint8Array(1200);
      payload[0] = 0x40 | Math.floor(rnd.next() * 32);
      payload.set(dcid, 1);
      for (let j = 19; j < payload.length; j++) payload[j] = Math.floor(rnd.next() * 256);
      const pkt = udpPacket({ addr: '10.1.0.1', port: 4433 }, { addr: '10.2.0.1', port: 50000 }, payload, 0);
      const v = newPacketView();
      decodePacket(pkt, 'raw-ip', v);
      const k = packetMatchKey(v, pkt);
      full.add(k);
      // the same packet after NAT (client address and port rewritten): the same key
      const nat = udpPacket({ addr: '10.1.0.1', port: 4433 }, { addr: '192.168.7.9', port: 61000 }, payload, 0);
      const w = newPacketView();
      decodePacket(nat, 'raw-ip', w);
      expect(packetMatchKey(w, nat)).toBe(k);
      // captured only up to byte 47 of the payload: the first 16 bytes alone
      const short = pkt.subarray(0, 20 + 8 + 47);
      const s = newPacketView();
      decodePacket(short, 'raw-ip', s);
      headOnly.add(packetMatchKey(s, short));
    }
    expect(full.size).toBeGreaterThanOrEqual(n - 1); // a 32-bit hash: a chance collision at most
    expect(headOnly.size).toBeLessThanOrEqual(32);
  });

  it('changes with each included field and not with bytes past the first 16 of payload', () => {
    const base = golden('raw_ipv6_dstopt_tcp'); // 8-byte payload
    const ipv4 = golden('eth_vlan_ipv4_udp');
    const key = (frame: Uint8Array, link: 'raw-ip' | 'ethernet'): number => {
      const v = newPacketView();
      decodePacket(frame, link, v);
      return packetMatchKey(v, frame);
    };
    const k4 = key(ipv4, 'ethernet');
    const edits: Array<[string, number]> = [
      ['ip id', 18 + 5],
      ['protocol', 18 + 9],
      ['first payload byte', 46],
      ['last payload byte', 50],
    ];
    for (const [what, at] of edits) {
      const f = Uint8Array.from(ipv4);
      f[at] = f[at]! ^ 0x01;
      expect(key(f, 'ethernet'), what).not.toBe(k4);
    }
    // NAT rewrites these: excluded
    const natEdits: Array<[string, number]> = [
      ['source address', 18 + 15],
      ['destination address', 18 + 19],
      ['source port', 38 + 1],
      ['destination port', 38 + 3],
    ];
    for (const [what, at] of natEdits) {
      const f = Uint8Array.from(ipv4);
      f[at] = f[at]! ^ 0x01;
      expect(key(f, 'ethernet'), what).toBe(k4);
    }
    const mac = Uint8Array.from(ipv4);
    mac[0] = 0xff; // link layer: excluded
    mac[18 + 8] = 1; // TTL: excluded
    mac[18 + 10] = 0; // header checksum: excluded
    mac[38 + 6] = 0; // UDP checksum: excluded
    expect(key(mac, 'ethernet')).toBe(k4);

    // a payload longer than 16 bytes: byte 17 does not count, byte 16 does
    const long = new Uint8Array(base.length + 20);
    long.set(base);
    long[4] = 0;
    long[5] = 40 + 8 + 20; // IPv6 payload length grows by 20
    const kl = key(long, 'raw-ip');
    const b17 = Uint8Array.from(long);
    b17[80 + 16] = 0x55;
    expect(key(b17, 'raw-ip')).toBe(kl);
    const b16 = Uint8Array.from(long);
    b16[80 + 15] = 0x55;
    expect(key(b16, 'raw-ip')).not.toBe(kl);
    const seq = Uint8Array.from(long);
    seq[48 + 7] = seq[48 + 7]! ^ 1; // TCP sequence number
    expect(key(seq, 'raw-ip')).not.toBe(kl);
  });
});

describe('packetMatchKey under NAT', () => {
  /**
   * Simulates what the AP's conntrack does to a forwarded packet: TTL - 1, then de-NAT of a
   * masqueraded client (destination address and port rewritten) or SNAT (source), IPv4 header
   * and L4 checksums fixed, re-encapsulated as raw IP.
   */
  function natted(frame: Uint8Array, ipOffset: number, which: 'dnat' | 'snat', addr: number, port: number): Uint8Array {
    const ip = Uint8Array.from(frame.subarray(ipOffset));
    ip[8] = (ip[8]! - 1) & 0xff;
    const ihl = (ip[0]! & 0x0f) * 4;
    const a = which === 'dnat' ? 16 : 12;
    ip[a] = addr >>> 24;
    ip[a + 1] = (addr >>> 16) & 0xff;
    ip[a + 2] = (addr >>> 8) & 0xff;
    ip[a + 3] = addr & 0xff;
    const p = ihl + (which === 'dnat' ? 2 : 0);
    ip[p] = port >>> 8;
    ip[p + 1] = port & 0xff;
    fixIpPacketChecksums(ip, 0);
    return ip;
  }

  it('gives the same key before and after a DNAT or SNAT rewrite, for every packet of a real call', () => {
    const a = newPacketView();
    const b = newPacketView();
    const keys = new Set<number>();
    let n = 0;
    const PUBLIC = 0xc0000207; // 192.0.2.7
    for (const r of readCapture(readFileSync(new URL('chromium-plaintext-4s.pcap', FIXTURES)))) {
      decodePacket(r.data, 'ethernet', a);
      if (a.capturedPayloadLength < a.payloadLength) continue; // snap-cut: the L4 checksum cannot be fixed
      const k = packetMatchKey(a, r.data);
      for (const which of ['dnat', 'snat'] as const) {
        const out = natted(r.data, a.ipOffset, which, PUBLIC, 40000 + (n % 20000));
        expect(verifyIpv4HeaderChecksum(out, 0)).toBe(true);
        expect(verifyL4Checksum(out, 0)).toBe(true);
        decodePacket(out, 'raw-ip', b);
        expect(which === 'dnat' ? b.dst0 : b.src0).toBe(PUBLIC);
        expect(flowHash(b)).not.toBe(flowHash(a)); // the 5-tuple did change
        expect(packetMatchKey(b, out)).toBe(k);
      }
      keys.add(k);
      n++;
    }
    expect(n).toBeGreaterThan(50);
    expect(keys.size).toBe(n); // still told apart without addresses and ports
  });

  it('is address- and port-invariant for any generated packet (property)', () => {
    fc.assert(
      fc.property(packetArb, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), (p, addr, port) => {
        const v = newPacketView();
        try {
          decodePacket(p.bytes, p.link, v);
        } catch {
          return;
        }
        const k = packetMatchKey(v, p.bytes);
        const w: PacketView = { ...v, src0: addr >>> 0, dst0: (addr ^ 0x5a5a) >>> 0, srcPort: port, dstPort: port ^ 1 };
        expect(packetMatchKey(w, p.bytes)).toBe(k);
      }),
      { numRuns: 300 },
    );
  });

  it('collides only when IP ID, length, protocol, TCP seq/ack and the first 16 payload bytes are equal', () => {
    // two different flows (addresses, ports) carrying the same leading bytes: one key (the
    // engine's queue model then matches the older one first: harmless, both are in the FIFO)
    const ipv4 = golden('eth_vlan_ipv4_udp');
    const v = newPacketView();
    decodePacket(ipv4, 'ethernet', v);
    const k = packetMatchKey(v, ipv4);
    const other = Uint8Array.from(ipv4);
    other[18 + 12] = other[18 + 12]! ^ 0xff; // another server
    other[38] = other[38]! ^ 0x10; // another port
    const w = newPacketView();
    decodePacket(other, 'ethernet', w);
    expect(flowHash(w)).not.toBe(flowHash(v));
    expect(packetMatchKey(w, other)).toBe(k);
    other[18 + 5] = other[18 + 5]! ^ 1; // a different IP ID separates them
    decodePacket(other, 'ethernet', w);
    expect(packetMatchKey(w, other)).not.toBe(k);
  });
});
