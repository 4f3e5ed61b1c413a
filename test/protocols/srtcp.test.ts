import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classifyRtcpSecurity, newSrtcpView, SRTCP_TAG_LENGTH_32 } from '../../src/protocols/srtcp.js';
import { buildCompound, buildNack, buildRr, buildSr, buildFeedback } from '../helpers/rtcp-packets.js';
import { demuxClass } from '../../src/protocols/demux.js';
import { fixturePath, readUdpPayloads } from './_udp-payloads.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Simulates SRTCP framing: keeps the first 8 bytes, replaces the rest by "ciphertext", appends E|index and a tag. */
function fakeSrtcp(plain: Uint8Array, index: number, tagLen: number, encrypt: boolean, noise: (i: number) => number): Uint8Array {
  const out = new Uint8Array(plain.length + 4 + tagLen);
  out.set(plain);
  if (encrypt) for (let i = 8; i < plain.length; i++) out[i] = noise(i);
  const dv = new DataView(out.buffer);
  dv.setUint32(plain.length, ((encrypt ? 0x80000000 : 0) | index) >>> 0);
  for (let i = 0; i < tagLen; i++) out[plain.length + 4 + i] = noise(1000 + i);
  return out;
}

const sr = buildSr(0x11, { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }, [{ ssrc: 7 }]);
const rr = buildRr(0x22, [{ ssrc: 7 }, { ssrc: 8 }]);
const twcc = buildFeedback(205, 15, 0x22, 7, hex('0001 0001 000010 07 2001 04 00'));
const nack = buildNack(0x22, 7, [3]);

describe('srtcp classification (synthetic)', () => {
  it.each([
    ['RR+NACK', [rr, nack]],
    ['SR alone', [sr]],
    ['TWCC alone (reduced-size)', [twcc]],
    ['SR+TWCC+NACK', [sr, twcc, nack]],
  ])('%s: plain is rtcp; encrypted (10- and 4-byte tags) is srtcp with the index', (_n, parts) => {
    const plain = buildCompound(parts);
    const v = newSrtcpView();
    expect(classifyRtcpSecurity(plain, 0, plain.length, v)).toBe('rtcp');
    expect(v.rtcpLength).toBe(plain.length);
    for (const tag of [10, SRTCP_TAG_LENGTH_32]) {
      const enc = fakeSrtcp(plain, 12345, tag, true, (i) => (i * 73 + 11) & 0xff);
      expect(classifyRtcpSecurity(enc, 0, enc.length, v, tag)).toBe('srtcp');
      expect(v).toMatchObject({
        encrypted: true,
        index: 12345,
        indexOffset: plain.length,
        tagOffset: plain.length + 4,
        rtcpLength: plain.length,
        firstPacketType: parts[0]![1],
        senderSsrc: parts[0] === sr ? 0x11 : 0x22,
      });
    }
  });

  it('authentication-only SRTCP (E = 0) is srtcp, not encrypted', () => {
    const plain = buildCompound([rr, nack]);
    const a = fakeSrtcp(plain, 7, 10, false, () => 0x55);
    const v = newSrtcpView();
    expect(classifyRtcpSecurity(a, 0, a.length, v)).toBe('srtcp');
    expect([v.encrypted, v.index]).toEqual([false, 7]);
  });

  it('wrong tag length, unaligned length, bad first header, or E=0 with garbage -> malformed', () => {
    const plain = buildCompound([rr, nack]);
    const v = newSrtcpView();
    const enc = fakeSrtcp(plain, 1, 10, true, (i) => (i * 31) & 0xff);
    expect(classifyRtcpSecurity(enc, 0, enc.length, v, 4)).toBe('malformed'); // trailer size does not fit the word grid
    expect(classifyRtcpSecurity(enc, 0, enc.length - 1, v)).toBe('malformed');
    const bad = enc.slice();
    bad[0] = 0x40;
    expect(classifyRtcpSecurity(bad, 0, bad.length, v)).toBe('malformed');
    const noE = enc.slice();
    noE[plain.length] = noE[plain.length]! & 0x7f;
    expect(classifyRtcpSecurity(noE, 0, noE.length, v)).toBe('malformed');
    expect(classifyRtcpSecurity(new Uint8Array(3), 0, 3, v)).toBe('malformed');
  });

  it('never throws on random input', () => {
    const v = newSrtcpView();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.constantFrom(4, 10), (b, tag) => {
        classifyRtcpSecurity(b, 0, b.length, v, tag);
      }),
      { numRuns: 3000 },
    );
  });

  it('random ciphertext after the first 8 bytes is classified srtcp (not misread as plain)', () => {
    const plain = buildCompound([rr, twcc, nack]);
    const v = newSrtcpView();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: plain.length, maxLength: plain.length }), fc.integer({ min: 0, max: 0x7fffffff }), (noise, idx) => {
        const enc = fakeSrtcp(plain, idx, 10, true, (i) => noise[i % noise.length]!);
        expect(classifyRtcpSecurity(enc, 0, enc.length, v)).toBe('srtcp');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('srtcp classification (fixtures)', () => {
  it('chromium-srtp-4s.pcap: every one of the 73 RTCP datagrams is srtcp (E=1, 10-byte tag), indexes rise per sender', () => {
    const v = newSrtcpView();
    const lastIndex = new Map<number, number>();
    let n = 0;
    for (const d of readUdpPayloads(fixturePath('chromium-srtp-4s.pcap'))) {
      if (demuxClass(d.payload) !== 'rtcp') continue;
      expect(d.payload.length).toBe(d.wireLength);
      expect(classifyRtcpSecurity(d.payload, 0, d.payload.length, v)).toBe('srtcp');
      expect(v.encrypted).toBe(true);
      const prev = lastIndex.get(v.senderSsrc);
      if (prev !== undefined) expect(v.index).toBeGreaterThan(prev);
      lastIndex.set(v.senderSsrc, v.index);
      n++;
    }
    expect(n).toBe(73);
    expect(lastIndex.size).toBeGreaterThanOrEqual(2); // both endpoints send RTCP
  });

  it('chromium-plaintext-4s.pcap: every one of the 76 RTCP datagrams is plain rtcp', () => {
    const v = newSrtcpView();
    let n = 0;
    for (const d of readUdpPayloads(fixturePath('chromium-plaintext-4s.pcap'))) {
      if (demuxClass(d.payload) !== 'rtcp') continue;
      expect(classifyRtcpSecurity(d.payload, 0, d.payload.length, v)).toBe('rtcp');
      n++;
    }
    expect(n).toBe(76);
  });
});
