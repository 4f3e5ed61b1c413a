import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { demuxClass, isRtcpPacketType, type DemuxClass } from '../../src/protocols/demux.js';
import { fixturePath, readUdpPayloads } from './_udp-payloads.js';

describe('demux: RFC 7983 first-byte ranges', () => {
  it.each<[number, number, DemuxClass]>([
    [0, 1, 'stun'],
    [3, 0, 'stun'],
    [4, 0, 'unknown'],
    [15, 0, 'unknown'],
    [16, 0, 'zrtp'],
    [19, 0, 'zrtp'],
    [20, 0, 'dtls'],
    [22, 0xfe, 'dtls'],
    [63, 0, 'dtls'],
    [64, 0, 'turn-channel'],
    [79, 0, 'turn-channel'],
    [80, 0, 'unknown'],
    [127, 0, 'unknown'],
    [128, 96, 'rtp'],
    [0x80, 0xe0, 'rtp'], // marker + PT 96
    [0x90, 0x76, 'rtp'],
    [0x80, 191, 'rtp'], // M + PT 63
    [0x80, 192, 'rtcp'], // FIR (RFC 2032) / first RTCP PT
    [0x81, 200, 'rtcp'],
    [0x8f, 205, 'rtcp'],
    [0x80, 223, 'rtcp'],
    [0x80, 224, 'rtp'], // M + PT 96
    [191, 201, 'rtcp'],
    [192, 201, 'unknown'],
    [255, 0, 'unknown'],
  ])('first byte %i, second %i -> %s', (b0, b1, cls) => {
    expect(demuxClass(Uint8Array.of(b0, b1, 0, 0))).toBe(cls);
  });

  it('short or out-of-range input never throws', () => {
    expect(demuxClass(new Uint8Array(0))).toBe('unknown');
    expect(demuxClass(Uint8Array.of(0x80))).toBe('unknown');
    expect(demuxClass(Uint8Array.of(0x80, 200), 1)).toBe('unknown');
    expect(demuxClass(Uint8Array.of(0, 0), 0, 5)).toBe('unknown');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4 }), fc.integer({ min: -2, max: 6 }), fc.integer({ min: -2, max: 6 }), (b, o, e) => {
        demuxClass(b, o, e);
      }),
      { numRuns: 2000 },
    );
    expect([191, 192, 223, 224].map(isRtcpPacketType)).toEqual([false, true, true, false]);
  });
});

describe('demux: fixtures', () => {
  function tally(name: string): Record<string, number> {
    const t: Record<string, number> = {};
    for (const d of readUdpPayloads(fixturePath(name))) {
      const c = demuxClass(d.payload);
      t[c] = (t[c] ?? 0) + 1;
    }
    return t;
  }
  it('chromium-plaintext-4s.pcap: 694 RTP, 76 RTCP, 20 STUN', () => {
    // tshark -r FILE -d udp.port==35281,rtp -T fields -e _ws.col.Protocol | sort | uniq -c
    expect(tally('chromium-plaintext-4s.pcap')).toEqual({ rtp: 694, rtcp: 76, stun: 20 });
  });
  it('chromium-srtp-4s.pcap: 298 RTP, 73 RTCP, 20 STUN, 6 DTLS', () => {
    // tshark -r FILE -d udp.port==38262,rtp -T fields -e _ws.col.Protocol | sort | uniq -c: 301 "RTP"
    // of which 3 are "Unknown RTP version 0" (frames 8-10: DTLS 1.3 unified headers 0x2e/0x2f,
    // which tshark 4.0 does not know); -Y rtp.version==2 -> 298; -Y dtls -> 3 (+3 unified)
    expect(tally('chromium-srtp-4s.pcap')).toEqual({ rtp: 298, rtcp: 73, stun: 20, dtls: 6 });
  });
});
