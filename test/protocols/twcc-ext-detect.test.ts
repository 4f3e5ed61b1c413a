import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ParseError } from '../../src/protocols/errors.js';
import { TwccExtensionDetector } from '../../src/protocols/twcc-ext-detect.js';
import { newRtpView, parseRtpHeader } from '../../src/protocols/rtp.js';
import { buildRtp, type RtpExtensionSpec } from '../helpers/rtp-packets.js';
import { demuxClass } from '../../src/protocols/demux.js';
import { fixturePath, readUdpPayloads } from './_udp-payloads.js';

const u16 = (v: number): Uint8Array => Uint8Array.of((v >> 8) & 0xff, v & 0xff);
const u24 = (v: number): Uint8Array => Uint8Array.of((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);

/** mulberry32: seeded RNG for synthetic streams. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feed(det: TwccExtensionDetector, pkts: Uint8Array[]): Array<number | null> {
  const v = newRtpView();
  const seen: Array<number | null> = [];
  for (const p of pkts) {
    parseRtpHeader(p, 0, p.length, v);
    det.observe(p, v);
    seen.push(det.result()?.extId ?? null);
  }
  return seen;
}

interface SynthOptions {
  n: number;
  ssrcs: number[];
  seed: number;
  /** extension ids: tw = transport-wide seq, perSsrc = per-SSRC counter, abs = abs-send-time (3 B), level = audio level (1 B), randomU16 = noise. */
  tw?: number;
  perSsrc?: number;
  abs?: number;
  level?: number;
  randomU16?: number;
  loss?: number;
  reorder?: number;
  twoByte?: boolean;
}

function synth(o: SynthOptions): Uint8Array[] {
  const r = rng(o.seed);
  const perSeq = new Map<number, number>();
  const out: Array<{ tw: number; pkt: () => Uint8Array }> = [];
  let tw = 65500; // crosses the 16-bit wrap
  for (let i = 0; i < o.n; i++) {
    const ssrc = o.ssrcs[Math.floor(r() * o.ssrcs.length)]!;
    const ps = (perSeq.get(ssrc) ?? Math.floor(r() * 60000)) + 1;
    perSeq.set(ssrc, ps);
    const exts: RtpExtensionSpec[] = [];
    if (o.abs !== undefined) exts.push({ id: o.abs, data: u24(Math.floor(i * 1234.5) & 0xffffff) });
    if (o.tw !== undefined) exts.push({ id: o.tw, data: u16(tw & 0xffff) });
    if (o.perSsrc !== undefined) exts.push({ id: o.perSsrc, data: u16(ps & 0xffff) });
    if (o.level !== undefined) exts.push({ id: o.level, data: Uint8Array.of(i & 0x7f) });
    if (o.randomU16 !== undefined) exts.push({ id: o.randomU16, data: u16(Math.floor(r() * 65536)) });
    tw++;
    if (o.loss !== undefined && r() < o.loss) continue;
    const extensions = exts;
    const form = o.twoByte ? 'two-byte' : 'auto';
    out.push({ tw, pkt: () => buildRtp({ payloadType: 96, sequenceNumber: ps, timestamp: i * 3000, ssrc, extensions, extensionForm: form }) });
  }
  if (o.reorder !== undefined) {
    for (let i = 0; i + 1 < out.length; i++) {
      if (r() < o.reorder) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
    }
  }
  return out.map((x) => x.pkt());
}

describe('TwccExtensionDetector (synthetic)', () => {
  it('null before enough packets, then the transport-wide id; ignores abs-send-time and audio level', () => {
    const det = new TwccExtensionDetector({ minPackets: 20 });
    const seen = feed(det, synth({ n: 60, ssrcs: [0xa, 0xb, 0xc], seed: 1, tw: 5, abs: 3, level: 1 }));
    expect(seen.slice(0, 20).every((s) => s === null)).toBe(true); // 20 packets give 19 steps
    expect(seen[20]).toBe(5);
    expect(seen.at(-1)).toBe(5);
    expect(det.result()).toEqual({ extId: 5, confidence: 1, crossSsrcVerified: true });
  });

  it('is not fooled by a per-SSRC counter when several SSRCs share the transport', () => {
    const det = new TwccExtensionDetector();
    feed(det, synth({ n: 400, ssrcs: [1, 2], seed: 2, perSsrc: 7, tw: 12, abs: 2 }));
    expect(det.result()?.extId).toBe(12);
    // per-SSRC alone, two SSRCs interleaved: nothing qualifies
    const det2 = new TwccExtensionDetector();
    feed(det2, synth({ n: 400, ssrcs: [1, 2], seed: 3, perSsrc: 7, abs: 2, level: 1, randomU16: 9 }));
    expect(det2.result()).toBeNull();
    expect(det2.stats(7).crossDisagree).toBeGreaterThan(50);
  });

  it('RTX probes first, then video alone (one agreeing cross-SSRC step): detected within minPackets, unverified until more SSRC switches', () => {
    // measured on a Chromium call: 5 padding probes on the RTX SSRC, then video for 16 s
    const pkts: Uint8Array[] = [];
    const probe = (i: number): Uint8Array => buildRtp({ payloadType: 97, sequenceNumber: 100 + i, timestamp: 0, ssrc: 0xb, extensions: [{ id: 4, data: u16(i) }] });
    const video = (i: number): Uint8Array => buildRtp({ payloadType: 96, sequenceNumber: 7000 + i, timestamp: i * 3000, ssrc: 0xa, extensions: [{ id: 4, data: u16(i) }, { id: 2, data: u24(i * 77) }] });
    for (let i = 1; i <= 5; i++) pkts.push(probe(i));
    for (let i = 6; i <= 60; i++) pkts.push(video(i));
    const det = new TwccExtensionDetector();
    const seen = feed(det, pkts);
    expect(seen.indexOf(4)).toBeGreaterThan(0);
    expect(seen.indexOf(4)).toBeLessThanOrEqual(25);
    expect(det.result()).toMatchObject({ extId: 4, crossSsrcVerified: false });
    // a later retransmission on the RTX SSRC, in the shared sequence: now verified
    feed(det, [probe(61), video(62), probe(63), video(64)]);
    expect(det.result()).toMatchObject({ extId: 4, crossSsrcVerified: true });
  });

  it('a per-SSRC counter is rejected as soon as one switch between two SSRCs jumps', () => {
    const det = new TwccExtensionDetector();
    const pkts: Uint8Array[] = [];
    for (let i = 1; i <= 5; i++) pkts.push(buildRtp({ payloadType: 97, sequenceNumber: i, timestamp: 0, ssrc: 0xb, extensions: [{ id: 7, data: u16(i) }] }));
    for (let i = 1; i <= 60; i++) pkts.push(buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: 0, ssrc: 0xa, extensions: [{ id: 7, data: u16(30000 + i) }] }));
    feed(det, pkts);
    expect(det.result()).toBeNull();
    expect(det.stats(7).crossDisagree).toBe(1);
  });

  it('a per-SSRC counter on a single-SSRC transport is reported, but not as cross-SSRC verified', () => {
    const det = new TwccExtensionDetector();
    feed(det, synth({ n: 100, ssrcs: [1], seed: 4, perSsrc: 7 }));
    expect(det.result()).toMatchObject({ extId: 7, crossSsrcVerified: false });
  });

  it('tolerates 5% loss and some reordering, in the two-byte form with a high id', () => {
    const det = new TwccExtensionDetector();
    feed(det, synth({ n: 500, ssrcs: [1, 2, 3], seed: 5, tw: 200, perSsrc: 201, randomU16: 202, loss: 0.05, reorder: 0.03, twoByte: true }));
    const res = det.result();
    expect(res?.extId).toBe(200);
    expect(res!.confidence).toBeGreaterThan(0.9);
  });

  it('random 2-byte noise is never detected', () => {
    for (let seed = 10; seed < 20; seed++) {
      const det = new TwccExtensionDetector();
      feed(det, synth({ n: 300, ssrcs: [1, 2], seed, randomU16: 4, abs: 2 }));
      expect(det.result()).toBeNull();
    }
  });

  it('packets without extensions or with malformed elements are skipped without throwing', () => {
    const det = new TwccExtensionDetector();
    const v = newRtpView();
    const plain = buildRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1 });
    parseRtpHeader(plain, 0, plain.length, v);
    det.observe(plain, v);
    const bad = Uint8Array.from(Buffer.from('900000010000000200000003bede000143010203', 'hex'));
    parseRtpHeader(bad, 0, bad.length, v);
    det.observe(bad, v);
    expect(det.result()).toBeNull();
    expect(det.packets).toBe(1);
  });
});

describe('TwccExtensionDetector (robustness)', () => {
  it('random RTP-looking packets never throw and never produce a detection', () => {
    const det = new TwccExtensionDetector();
    const v = newRtpView();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 60 }), (b) => {
        b[0] = 0x90 | (b[0]! & 0x20); // V=2, X=1, CC=0
        if (b.length >= 16) {
          b[12] = 0xbe; // a one-byte-form extension block of random elements that fits
          b[13] = 0xde;
          b[14] = 0;
          b[15] = b[15]! % (Math.floor((b.length - 16) / 4) + 1);
        }
        try {
          parseRtpHeader(b, 0, b.length, v);
        } catch (e) {
          if (e instanceof ParseError) return;
          throw e;
        }
        det.observe(b, v);
      }),
      { numRuns: 3000 },
    );
    expect(det.packets).toBeGreaterThan(100);
    expect(det.result()).toBeNull();
  });
});

describe('TwccExtensionDetector (fixtures)', () => {
  function sdpTransportCcId(): number {
    const sdp = readFileSync(fixturePath('chromium-plaintext-offer.sdp'), 'utf8');
    const m = /a=extmap:(\d+) http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/.exec(sdp);
    return Number(m![1]);
  }

  it.each(['chromium-plaintext-4s.pcap', 'chromium-srtp-4s.pcap'])('%s: detects the id the SDP declares (4) from RTP alone', (name) => {
    const expected = sdpTransportCcId();
    expect(expected).toBe(4);
    const flows = new Map<string, TwccExtensionDetector>();
    const v = newRtpView();
    const firstAt = new Map<string, number>();
    for (const d of readUdpPayloads(fixturePath(name))) {
      if (demuxClass(d.payload) !== 'rtp') continue;
      const key = `${d.src}:${d.srcPort}>${d.dst}:${d.dstPort}`;
      let det = flows.get(key);
      if (!det) flows.set(key, (det = new TwccExtensionDetector()));
      parseRtpHeader(d.payload, 0, d.payload.length, v);
      det.observe(d.payload, v);
      if (det.result() && !firstAt.has(key)) firstAt.set(key, det.packets);
    }
    expect(flows.size).toBe(1); // media flows one way in these captures
    const [key, det] = [...flows][0]!;
    expect(det.result()).toEqual({ extId: expected, confidence: 1, crossSsrcVerified: true });
    // abs-send-time (id 2, 3 bytes) is no candidate; the mid (id 9, 1 byte) neither
    expect(det.stats(2).agree + det.stats(9).agree).toBe(0);
    // decided at the earliest possible packet: minPackets (20) agreeing steps need 21 packets,
    // since the capture has no loss or reordering before the AP
    expect(firstAt.get(key)).toBe(21);
  });
});
