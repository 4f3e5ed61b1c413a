import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/protocols/ipv4.js';
import { decodePacket, dltFromLinkType, linkTypeFromDlt, newPacketView, type LinkType, type PacketView } from '../../src/protocols/packet.js';
import { readCapture } from '../../src/protocols/pcap-file.js';
import { golden, mutate, mutatedPacketArb, onlyParseError, packetArb, type GoldenName } from './packet.helpers.js';

const FIXTURES = new URL('../../../shared/fixtures/webrtc/', import.meta.url);

describe('linkTypeFromDlt', () => {
  it.each([
    [1, 'ethernet'],
    [113, 'sll'],
    [276, 'sll2'],
    [101, 'raw-ip'],
    [12, 'raw-ip'],
    [228, 'raw-ip'],
    [229, 'raw-ip'],
    [105, undefined], // 802.11: not decoded
    [0, undefined],
  ] as const)('%i -> %s', (dlt, t) => expect(linkTypeFromDlt(dlt)).toBe(t));
  it('round-trips through dltFromLinkType', () => {
    for (const t of ['ethernet', 'sll', 'sll2', 'raw-ip'] as const) expect(linkTypeFromDlt(dltFromLinkType(t))).toBe(t);
  });
});

describe('decodePacket golden frames', () => {
  const cases: Array<{ name: GoldenName; link: LinkType; want: Partial<PacketView> }> = [
    {
      name: 'eth_ipv4_tcp_syn', link: 'ethernet',
      want: {
        l3: 'ipv4', l4: 'tcp', etherType: 0x0800, ipOffset: 14, ipHeaderLength: 20, ipTotalLength: 60, protocol: 6, ttl: 64, ipId: 0xabcd,
        src0: 0xc0a8010a, dst0: 0x0a000002, src1: 0, dst3: 0, srcPort: 40000, dstPort: 443, tcpSeq: 0x01020304, tcpFlags: 0x02,
        tcpWindow: 64240, tcpHeaderLength: 40, tcpSackPermitted: true, tcpHasSack: false, l4Offset: 34, payloadOffset: 74,
        payloadLength: 0, capturedPayloadLength: 0, truncated: false, sllPacketType: -1, isFragment: false, l4Checksum: 0xdf58,
      },
    },
    {
      name: 'eth_vlan_ipv4_udp', link: 'ethernet',
      want: { l3: 'ipv4', l4: 'udp', vlanCount: 1, ipOffset: 18, ttl: 63, ipId: 7, srcPort: 5004, dstPort: 6000, udpLength: 13, payloadOffset: 46, payloadLength: 5, capturedPayloadLength: 5 },
    },
    {
      name: 'eth_qinq_ipv6_udp', link: 'ethernet',
      want: {
        l3: 'ipv6', l4: 'udp', vlanCount: 2, ipOffset: 22, ipHeaderLength: 40, ipTotalLength: 51, protocol: 17, ttl: 64, ipId: 0,
        src0: 0x20010db8, src3: 1, dst1: 1, dst3: 2, srcPort: 53, dstPort: 33333, payloadLength: 3,
      },
    },
    {
      name: 'eth_ipv6_hbh_frag_tcp', link: 'ethernet', // first fragment: L4 header present, flagged as fragment
      want: { l3: 'ipv6', l4: 'tcp', ipHeaderLength: 56, isFragment: true, fragmentOffset: 0, ipId: 0xdeadbeef, srcPort: 8080, tcpHasSack: true, payloadLength: 8 },
    },
    {
      name: 'raw_ipv6_dstopt_tcp', link: 'raw-ip',
      want: { l3: 'ipv6', l4: 'tcp', etherType: 0x86dd, ipOffset: 0, ipHeaderLength: 48, tcpFlags: 0x18, tcpAck: 2000, payloadOffset: 80, payloadLength: 8, capturedPayloadLength: 8 },
    },
    {
      name: 'sll_ipv4_tcp_ack', link: 'sll',
      want: { l3: 'ipv4', l4: 'tcp', sllPacketType: 4, ipOffset: 16, ttl: 1, ipId: 0x4242, tcpFlags: 0x10, payloadLength: 0, srcPort: 443 },
    },
    {
      name: 'sll2_ipv6_udp', link: 'sll2',
      want: { l3: 'ipv6', l4: 'udp', sllPacketType: 0, sllIfIndex: 7, ipOffset: 20, ttl: 255, srcPort: 33333, dstPort: 53, payloadLength: 4 },
    },
    {
      name: 'eth_ipv4_frag2', link: 'ethernet',
      want: { l3: 'ipv4', l4: 'fragment', protocol: 17, isFragment: true, fragmentOffset: 1480, srcPort: 0, dstPort: 0, payloadOffset: 34, payloadLength: 24 },
    },
    { name: 'eth_arp', link: 'ethernet', want: { l3: 'other', l4: 'other', etherType: 0x0806, payloadOffset: 14, payloadLength: 28, srcPort: 0 } },
    { name: 'raw_ipv4_opts_udp0', link: 'raw-ip', want: { l3: 'ipv4', l4: 'udp', ipHeaderLength: 24, srcPort: 1234, dstPort: 5678, l4Checksum: 0, payloadLength: 4 } },
  ];
  it.each(cases)('$name', ({ name, link, want }) => {
    const v = newPacketView();
    decodePacket(golden(name), link, v);
    expect(v).toMatchObject(want);
  });

  it('resets fields from a previous packet when reusing the view', () => {
    const v = newPacketView();
    decodePacket(golden('sll_ipv4_tcp_ack'), 'sll', v);
    decodePacket(golden('eth_ipv4_frag2'), 'ethernet', v);
    expect([v.sllPacketType, v.srcPort, v.tcpFlags, v.tcpSeq]).toEqual([-1, 0, 0, 0]);
    decodePacket(golden('eth_qinq_ipv6_udp'), 'ethernet', v);
    decodePacket(golden('eth_arp'), 'ethernet', v);
    expect([v.l3, v.src0, v.dst3, v.vlanCount]).toEqual(['other', 0, 0, 0]);
  });

  it('a snap-length cut keeps header fields and reports the captured payload', () => {
    const v = newPacketView();
    decodePacket(golden('raw_ipv6_dstopt_tcp').subarray(0, 83), 'raw-ip', v);
    expect([v.truncated, v.payloadLength, v.capturedPayloadLength]).toEqual([true, 8, 3]);
  });

  it('non-IP bytes on a raw-ip link are a bad version', () => {
    expect(() => decodePacket(Uint8Array.of(0x20, 0, 0), 'raw-ip', newPacketView())).toThrow(expect.objectContaining({ reason: 'bad-version' }));
    expect(() => decodePacket(new Uint8Array(0), 'raw-ip', newPacketView())).toThrow(expect.objectContaining({ reason: 'truncated' }));
  });
});

describe('decodePacket on random well-formed packets', () => {
  it('recovers what the builder put in', () => {
    const v = newPacketView();
    fc.assert(
      fc.property(packetArb, (p) => {
        decodePacket(p.bytes, p.link, v);
        expect(v.l3).toBe(p.v6 ? 'ipv6' : 'ipv4');
        expect(v.l4).toBe(p.protocol === 6 ? 'tcp' : 'udp');
        expect([v.ipOffset, v.l4Offset, v.srcPort, v.dstPort, v.payloadLength]).toEqual([p.ipOffset, p.l4Offset, p.srcPort, p.dstPort, p.payloadLength]);
        expect(v.payloadOffset + v.payloadLength).toBe(p.bytes.length);
        expect(v.truncated).toBe(false);
      }),
      { numRuns: 4000 },
    );
  });

  it('throws only ParseError on truncated and mutated packets; whatever decodes stays in bounds', () => {
    const v = newPacketView();
    let threw = 0;
    fc.assert(
      fc.property(mutatedPacketArb, ([p, flips, cut]) => {
        const b = mutate(p, flips, cut);
        if (onlyParseError(() => decodePacket(b, p.link, v))) {
          threw++;
          return;
        }
        expect(v.payloadOffset).toBeLessThanOrEqual(b.length);
        expect(v.capturedPayloadLength).toBeLessThanOrEqual(v.payloadLength);
        expect(v.payloadOffset + v.capturedPayloadLength).toBeLessThanOrEqual(b.length);
        expect(v.capturedPayloadLength).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 12000 },
    );
    expect(threw).toBeGreaterThan(0); // the mutations do reach the error paths
  });

  it('throws only ParseError on random bytes for every link type', () => {
    const v = newPacketView();
    fc.assert(
      fc.property(fc.constantFrom<LinkType>('ethernet', 'sll', 'sll2', 'raw-ip'), fc.uint8Array({ maxLength: 120 }), (link, b) => {
        onlyParseError(() => decodePacket(b, link, v));
      }),
      { numRuns: 8000 },
    );
  });
});

describe('decodePacket on the Chromium WebRTC captures', () => {
  // golden values from tshark 4.x: `tshark -r FILE -T fields -e ip.src -e udp.srcport -e ip.id -e ip.ttl -e ip.len -e udp.length`
  // and `-q -z conv,udp`
  const files = [
    {
      file: 'chromium-plaintext-4s.pcap', count: 790, fromSender: 716, fromReceiver: 74, cut: 694, sumIpLen: 736782,
      sender: 35281, receiver: 43313,
      rows: [
        { n: 1, src: '10.78.2.1', sport: 43313, dst: '10.78.1.1', dport: 35281, id: 0xd560, ttl: 63, ipLen: 124, udpLen: 104 },
        { n: 100, src: '10.78.1.1', sport: 35281, dst: '10.78.2.1', dport: 43313, id: 0x5fe6, ttl: 64, ipLen: 1003, udpLen: 983 },
        { n: 790, src: '10.78.1.1', sport: 35281, dst: '10.78.2.1', dport: 43313, id: 0x63b2, ttl: 64, ipLen: 1035, udpLen: 1015 },
      ],
    },
    {
      file: 'chromium-srtp-4s.pcap', count: 397, fromSender: 319, fromReceiver: 78, cut: 303, sumIpLen: 281735,
      sender: 38262, receiver: 43537,
      rows: [
        { n: 2, src: '10.78.1.1', sport: 38262, dst: '10.78.2.1', dport: 43537, id: 0x4840, ttl: 64, ipLen: 92, udpLen: 72 },
        { n: 3, src: '10.78.2.1', sport: 43537, dst: '10.78.1.1', dport: 38262, id: 0xc59d, ttl: 63, ipLen: 1228, udpLen: 1208 },
        { n: 397, src: '10.78.1.1', sport: 38262, dst: '10.78.2.1', dport: 43537, id: 0x4b47, ttl: 64, ipLen: 1136, udpLen: 1116 },
      ],
    },
  ];
  it.each(files)('$file: every packet decodes and matches tshark', (f) => {
    const buf = readFileSync(new URL(f.file, FIXTURES));
    const v = newPacketView();
    let n = 0;
    let fromSender = 0;
    let fromReceiver = 0;
    let cut = 0;
    let sumIpLen = 0;
    for (const r of readCapture(buf)) {
      n++;
      const link = linkTypeFromDlt(r.linkType);
      expect(link).toBe('ethernet');
      decodePacket(r.data, link ?? 'ethernet', v);
      expect([v.l3, v.l4]).toEqual(['ipv4', 'udp']);
      if (v.srcPort === f.sender) fromSender++;
      if (v.srcPort === f.receiver) fromReceiver++;
      if (v.truncated) cut++;
      sumIpLen += v.ipTotalLength;
      expect(14 + v.ipTotalLength).toBe(r.origLen);
      const row = f.rows.find((x) => x.n === n);
      if (row !== undefined) {
        const { n: _n, ...want } = row;
        expect({
          src: formatIpv4(v.src0), sport: v.srcPort, dst: formatIpv4(v.dst0), dport: v.dstPort, id: v.ipId, ttl: v.ttl, ipLen: v.ipTotalLength, udpLen: v.udpLength,
        }).toEqual(want);
      }
    }
    expect(f.rows.every((r) => r.n <= n)).toBe(true);
    expect({ n, fromSender, fromReceiver, cut, sumIpLen }).toEqual({ n: f.count, fromSender: f.fromSender, fromReceiver: f.fromReceiver, cut: f.cut, sumIpLen: f.sumIpLen });
  });
});
