import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG,
  formatTcpFlags, isPureAck, newTcpView, parseTcp, setTcpWindow, tcpTsEcr, tcpTsVal,
} from '../../src/protocols/tcp.js';
import { verifyL4Checksum } from '../../src/protocols/checksum.js';
import { golden, hex, onlyParseError, type GoldenName } from './packet.helpers.js';

describe('parseTcp', () => {
  const cases: Array<{ name: GoldenName; off: number; seg: number; want: ReturnType<typeof newTcpView> }> = [
    {
      // SYN with MSS, SACK-permitted, timestamps, NOP, window scale (tshark: tcp.flags 0x0002, sack_perm present)
      name: 'eth_ipv4_tcp_syn', off: 34, seg: 40,
      want: {
        offset: 34, srcPort: 40000, dstPort: 443, seq: 0x01020304, ack: 0, headerLength: 40, flags: TCP_SYN, window: 64240,
        checksum: 0xdf58, urgentPointer: 0, hasSack: false, sackPermitted: true, timestampOffset: 34 + 20 + 4 + 2 + 2, wscale: 7,
        payloadOffset: 74, payloadLength: 0,
      },
    },
    {
      // PSH+ACK with a SACK block and 8 payload bytes, behind an IPv6 destination-options header
      name: 'raw_ipv6_dstopt_tcp', off: 48, seg: 40,
      want: {
        offset: 48, srcPort: 8080, dstPort: 50000, seq: 1000, ack: 2000, headerLength: 32, flags: TCP_PSH | TCP_ACK, window: 512,
        checksum: 0x1c6c, urgentPointer: 0, hasSack: true, sackPermitted: false, timestampOffset: -1, wscale: -1, payloadOffset: 80, payloadLength: 8,
      },
    },
    {
      name: 'sll_ipv4_tcp_ack', off: 36, seg: 20,
      want: {
        offset: 36, srcPort: 443, dstPort: 40000, seq: 5000, ack: 0x01020305, headerLength: 20, flags: TCP_ACK, window: 1000,
        checksum: 0x2aae, urgentPointer: 0, hasSack: false, sackPermitted: false, timestampOffset: -1, wscale: -1, payloadOffset: 56, payloadLength: 0,
      },
    },
  ];
  it.each(cases)('$name', ({ name, off, seg, want }) => {
    const v = newTcpView();
    parseTcp(golden(name), off, seg, v);
    expect(v).toEqual(want);
  });

  const base = '0050 1f90 00000001 00000002'; // ports 80 -> 8080, seq 1, ack 2
  const bad = [
    { what: 'data offset 4', bytes: base + '4010 ffff 0000 0000', seg: 20, reason: 'bad-length' },
    { what: 'data offset beyond the segment', bytes: base + '6010 ffff 0000 0000 01010101', seg: 20, reason: 'bad-length' },
    { what: 'segment shorter than 20', bytes: base + '5010 ffff 0000 0000', seg: 19, reason: 'bad-length' },
    { what: 'header cut by the buffer', bytes: base + '6010 ffff 0000 0000', seg: 24, reason: 'truncated' },
    { what: 'option length 1', bytes: base + '6010 ffff 0000 0000 05010101', seg: 24, reason: 'bad-length' },
    { what: 'option past the header', bytes: base + '6010 ffff 0000 0000 0101050a', seg: 24, reason: 'bad-length' },
  ];
  it.each(bad)('rejects $what ($reason)', ({ bytes, seg, reason }) => {
    expect(() => parseTcp(hex(bytes), 0, seg, newTcpView())).toThrow(expect.objectContaining({ name: 'ParseError', reason }));
  });

  it('stops walking options at End of Option List', () => {
    const v = newTcpView();
    parseTcp(hex(base + '7010 ffff 0000 0000 00000000 05ff0000'), 0, 28, v); // garbage after EOL ignored
    expect(v.hasSack).toBe(false);
  });

  it('throws only ParseError on random headers', () => {
    const v = newTcpView();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(100), (b, seg) => {
        if (!onlyParseError(() => parseTcp(b, 0, seg, v))) {
          expect(v.payloadOffset).toBeLessThanOrEqual(b.length);
          expect(v.payloadLength).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 4000 },
    );
  });
});

describe('window scale and timestamps (RFC 7323)', () => {
  const base = '0050 1f90 00000001 00000002'; // ports 80 -> 8080, seq 1, ack 2
  it.each([
    { what: 'shift 7', opts: '01030307', want: 7 },
    { what: 'shift 0', opts: '01030300', want: 0 },
    { what: 'shift 15 used as 14', opts: '0103030f', want: 14 },
    { what: 'wrong length ignored', opts: '03040700', want: -1 },
    { what: 'absent', opts: '01010101', want: -1 },
  ])('$what', ({ opts, want }) => {
    const v = newTcpView();
    parseTcp(hex(base + '6002 ffff 0000 0000' + opts), 0, 24, v);
    expect(v.wscale).toBe(want);
  });

  it('reads TSval and TSecr', () => {
    const v = newTcpView();
    const b = hex(base + '8010 ffff 0000 0000 0101080a 11223344 a1b2c3d4');
    parseTcp(b, 0, 32, v);
    expect(v.timestampOffset).toBe(24);
    expect(tcpTsVal(b, v.timestampOffset)).toBe(0x11223344);
    expect(tcpTsEcr(b, v.timestampOffset)).toBe(0xa1b2c3d4);
  });
});

describe('setTcpWindow', () => {
  it('rewrites the golden SYN window with a valid checksum (golden bytes)', () => {
    const b = golden('eth_ipv4_tcp_syn');
    expect(verifyL4Checksum(b, 14)).toBe(true);
    setTcpWindow(b, 34, 0x1234);
    expect(hex(Buffer.from(b.subarray(48, 52)).toString('hex'))).toEqual(hex('1234c815')) // RFC 1624 by hand: ~(~0xdf58 + ~0xfaf0 + 0x1234);
    expect(verifyL4Checksum(b, 14)).toBe(true);
  });

  it.each([
    { name: 'eth_ipv4_tcp_syn' as const, ip: 14, tcp: 34 },
    { name: 'raw_ipv6_dstopt_tcp' as const, ip: 0, tcp: 48 },
  ])('keeps the $name checksum valid for any window (property)', ({ name, ip, tcp }) => {
    const b = golden(name);
    expect(verifyL4Checksum(b, ip)).toBe(true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (w) => {
        setTcpWindow(b, tcp, w);
        expect((b[tcp + 14]! << 8) | b[tcp + 15]!).toBe(w);
        expect(verifyL4Checksum(b, ip)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('throws ParseError on a header cut before the checksum', () => {
    expect(() => setTcpWindow(hex(base16()), 0, 1)).toThrow(expect.objectContaining({ name: 'ParseError', reason: 'truncated' }));
  });
});

function base16(): string {
  return '0050 1f90 00000001 00000002 6010 ffff'; // 16 bytes: no checksum field
}

describe('isPureAck', () => {
  it.each([
    [TCP_ACK, 0, true],
    [TCP_ACK | TCP_PSH, 0, true],
    [TCP_ACK | TCP_ECE | TCP_CWR, 0, true],
    [TCP_ACK, 1, false],
    [TCP_ACK | TCP_SYN, 0, false],
    [TCP_ACK | TCP_FIN, 0, false],
    [TCP_ACK | TCP_RST, 0, false],
    [TCP_URG, 0, false],
    [0, 0, false],
  ])('flags %i payload %i -> %s', (flags, len, want) => expect(isPureAck(flags, len)).toBe(want));
});

describe('formatTcpFlags', () => {
  it('names bits in order', () => {
    expect(formatTcpFlags(TCP_SYN | TCP_ACK)).toBe('SYN,ACK');
    expect(formatTcpFlags(0xff)).toBe('FIN,SYN,RST,PSH,ACK,URG,ECE,CWR');
  });
});
