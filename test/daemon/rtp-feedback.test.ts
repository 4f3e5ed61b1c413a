import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtpFeedback, type RtpFeedbackConfig, type UplinkRtpAction } from '../../src/daemon/rtp-feedback.js';
import { parseCcfb, serializeCcfb } from '../../src/protocols/rtcp/index.js';
import { fixIpPacketChecksums, verifyIpv4HeaderChecksum, verifyL4Checksum } from '../../src/protocols/checksum.js';
import { ParseError } from '../../src/protocols/errors.js';
import { formatIpv4 } from '../../src/protocols/ipv4.js';
import { decodePacket, DLT_RAW, linkTypeFromDlt, newPacketView, type LinkType, type PacketView } from '../../src/protocols/packet.js';
import { pcapWriter, readCapture } from '../../src/protocols/pcap-file.js';
import { RTCP_PT_RTPFB, RTPFB_FMT_TWCC, RtcpCompoundCursor, type RtcpKind } from '../../src/protocols/rtcp/index.js';
import { buildCompound, buildPli, buildRr } from '../helpers/rtcp-packets.js';
import { newRtpView, parseRtpHeader, readTransportWideSeq } from '../../src/protocols/rtp.js';
import { buildRtp } from '../helpers/rtp-packets.js';
import { arrivalsUsFromTwcc, parseTwcc, serializeTwcc } from '../../src/protocols/rtcp/index.js';

const FIX = new URL('../../../shared/fixtures/webrtc/', import.meta.url);
const SERVER = '10.78.1.1';
const CLIENT = '10.78.2.1';
const EXT_ID = 4; // chromium-plaintext-offer.sdp: a=extmap:4 ...transport-wide-cc-extensions-01

interface Rec {
  tUs: number;
  data: Uint8Array;
  linkType: LinkType;
  down: boolean;
}

function load(name: string): Rec[] {
  const buf = new Uint8Array(readFileSync(new URL(name, FIX)));
  const out: Rec[] = [];
  const v = newPacketView();
  let t0 = -1;
  for (const r of readCapture(buf)) {
    const lt = linkTypeFromDlt(r.linkType);
    if (lt === undefined) continue;
    decodePacket(r.data, lt, v);
    if (v.l4 !== 'udp') continue;
    if (t0 < 0) t0 = r.tUs;
    // the daemon's monotonic clock: start at 10 s
    out.push({ tUs: r.tUs - t0 + 10_000_000, data: r.data, linkType: lt, down: formatIpv4(v.src0) === SERVER });
  }
  return out;
}

const BASE_CFG: RtpFeedbackConfig = { twccExtensionId: 'auto', feedbackIntervalMs: 50, srtcpFallback: 'delay' };

interface Replay {
  fb: RtpFeedback;
  /** generated IP packets with the time they were polled */
  sent: Array<{ tUs: number; pkt: Uint8Array }>;
  /** transport-wide seq -> expected predicted arrival (µs), for downlink packets carrying one */
  expected: Map<number, number>;
  uplink: Array<{ rec: Rec; action: UplinkRtpAction; kinds: RtcpKind[] }>;
  endUs: number;
}

function rtcpKinds(buf: Uint8Array, v: PacketView): RtcpKind[] {
  const c = new RtcpCompoundCursor().reset(buf, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength);
  const kinds: RtcpKind[] = [];
  try {
    while (c.next()) kinds.push(c.view.kind);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return [];
  }
  return kinds;
}

/** Replays a capture: downlink to onDownlink with `predictMs(tUs)`, uplink to onUplink, poll every 5 ms. */
function replay(recs: Rec[], cfg: RtpFeedbackConfig, predictMs: (tUs: number) => number): Replay {
  const fb = new RtpFeedback(cfg);
  const sent: Replay['sent'] = [];
  const expected = new Map<number, number>();
  const uplink: Replay['uplink'] = [];
  const v = newPacketView();
  const rtp = newRtpView();
  let nextPollUs = recs[0]!.tUs;
  const pollUntil = (tUs: number): void => {
    while (nextPollUs <= tUs) {
      for (const pkt of fb.poll(nextPollUs)) sent.push({ tUs: nextPollUs, pkt });
      nextPollUs += 5000;
    }
  };
  for (const r of recs) {
    pollUntil(r.tUs);
    decodePacket(r.data, r.linkType, v);
    if (r.down) {
      const p = predictMs(r.tUs);
      const isRtp = fb.onDownlink(r.tUs, v, r.data, p);
      const b0 = r.data[v.payloadOffset]!;
      const b1 = r.data[v.payloadOffset + 1]! & 0x7f;
      if (isRtp && b0 >> 6 === 2 && !(b1 >= 64 && b1 <= 95)) {
        parseRtpHeader(r.data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength, rtp);
        const seq = readTransportWideSeq(r.data, rtp, EXT_ID);
        if (seq >= 0) expected.set(seq, r.tUs + p * 1000);
      }
    } else {
      const kinds = rtcpKinds(r.data, v);
      uplink.push({ rec: r, action: fb.onUplink(r.tUs, v, r.data), kinds });
    }
  }
  const endUs = recs[recs.length - 1]!.tUs + 100_000;
  pollUntil(endUs);
  return { fb, sent, expected, uplink, endUs };
}

interface Reported {
  seq: number;
  arrivalUs: number | null;
}

/** Checks every generated packet (addresses, checksums, lengths) and returns its TWCC content. */
function checkGenerated(sent: Replay['sent']): Reported[] {
  const v = newPacketView();
  const out: Reported[] = [];
  for (const { pkt } of sent) {
    decodePacket(pkt, 'raw-ip', v);
    expect(v.l3).toBe('ipv4');
    expect(formatIpv4(v.src0)).toBe(CLIENT);
    expect(formatIpv4(v.dst0)).toBe(SERVER);
    expect(v.srcPort).toBe(43313);
    expect(v.dstPort).toBe(35281);
    expect(v.ttl).toBe(64);
    expect(pkt[6]! & 0x40).toBe(0x40); // DF
    expect(v.ipTotalLength).toBe(pkt.length);
    expect(v.udpLength).toBe(pkt.length - 20);
    expect(verifyIpv4HeaderChecksum(pkt, 0)).toBe(true);
    expect(verifyL4Checksum(pkt, 0)).toBe(true);
    const fbk = parseTwcc(pkt, v.payloadOffset, v.payloadLength);
    expect(fbk.deltas.length).toBeGreaterThan(0);
    const arr = arrivalsUsFromTwcc(fbk);
    arr.forEach((a, i) => out.push({ seq: (fbk.baseSeq + i) & 0xffff, arrivalUs: a }));
  }
  return out;
}

/** Every received report matches the prediction within 250 µs and appears once; the reported range has no holes. */
function checkReports(rep: Reported[], expected: Map<number, number>): { received: number; maxErrUs: number } {
  const seen = new Set<number>();
  let maxErrUs = 0;
  let received = 0;
  for (const r of rep) {
    if (r.arrivalUs === null) continue;
    expect(seen.has(r.seq), `seq ${r.seq} reported twice`).toBe(false);
    seen.add(r.seq);
    const e = expected.get(r.seq);
    expect(e, `seq ${r.seq} was never sent`).toBeDefined();
    const err = Math.abs(r.arrivalUs - e!);
    maxErrUs = Math.max(maxErrUs, err);
    received++;
  }
  expect(maxErrUs).toBeLessThanOrEqual(250);
  // from the first reported seq on, every seq the server sent is reported received (no loss in the capture)
  const first = rep.find((r) => r.arrivalUs !== null)!.seq;
  const sentSeqs = [...expected.keys()].filter((s) => ((s - first) & 0xffff) < 0x8000);
  for (const s of sentSeqs) expect(seen.has(s), `seq ${s} not reported`).toBe(true);
  return { received, maxErrUs };
}

describe('RtpFeedback on the Chromium plaintext capture', () => {
  const recs = load('chromium-plaintext-4s.pcap');

  it.each([
    ['constant 7.3 ms', (): number => 7.3],
    ['increasing 1 -> 200 ms', (t: number): number => 1 + ((t - 10_000_000) / 4_000_000) * 199],
  ])('builds TWCC reporting every recorded seq once at its predicted arrival (%s)', (_n, predict) => {
    const r = replay(recs, BASE_CFG, predict);
    const st = r.fb.status(r.endUs);
    expect(st.transports).toBe(1);
    const t = st.list[0]!;
    expect(t.mode).toBe('twcc');
    expect(t.twccExtId).toBe(EXT_ID);
    expect(t.plaintextRtcp).toBe(true);
    expect(t.clientSsrcLearnt).toBe(true);
    // the transport's life is in its status: created, plaintext RTCP seen, then twcc once the
    // extension id was detected; nothing else
    expect(t.history.map((e) => `${e.event}:${e.mode}`)).toEqual(['created:passthrough', 'plaintext-rtcp:passthrough', 'mode:twcc']);
    expect(t.history[2]!.why).toBe(`extension id ${EXT_ID}`);
    expect(t.polled).toBe(true);
    expect(t.lastRecordAgoMs).toBeGreaterThanOrEqual(100);
    const rep = checkGenerated(r.sent);
    const { received, maxErrUs } = checkReports(rep, r.expected);
    // auto-detection needs ~20 packets; everything after it is reported
    expect(received).toBeGreaterThan(r.expected.size - 60);
    expect(st.counters.feedbackBuilt.twcc).toBe(r.sent.length);
    expect(t.reportedReceived).toBe(received);
    // the learnt client SSRCs are used once learnt
    const v = newPacketView();
    const lastPkt = r.sent.at(-1)!.pkt;
    decodePacket(lastPkt, 'raw-ip', v);
    const last = parseTwcc(lastPkt, v.payloadOffset, v.payloadLength);
    expect(last.senderSsrc).toBe(t.clientSenderSsrc);
    expect(last.mediaSsrc).toBe(t.mediaSsrc);
    // interval: builds of one transport are >= 50 ms apart
    const times = [...new Set(r.sent.map((s) => s.tUs))];
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(50_000);
    console.log(
      `[rtp-feedback] ${_n}: ${r.sent.length} feedback packets, ${received}/${r.expected.size} seqs reported, max |err| ${maxErrUs} µs`,
    );
  });

  it('with a configured extension id records from the first RTP packet', () => {
    const r = replay(recs, { ...BASE_CFG, twccExtensionId: EXT_ID }, () => 3);
    const rep = checkGenerated(r.sent);
    const { received } = checkReports(rep, r.expected);
    const st = r.fb.status(r.endUs);
    // every packet is recorded; only what was built before the first plaintext RTCP of the transport is discarded
    expect(st.counters.recorded.twcc).toBe(r.expected.size);
    expect(received).toBeGreaterThan(r.expected.size - 30);
    console.log(`[rtp-feedback] configured ext id: ${received}/${r.expected.size} reported, ${st.counters.discarded} early feedback discarded`);
  });

  it("drops the client's TWCC while reporting, passes every other RTCP", () => {
    const r = replay(recs, BASE_CFG, () => 5);
    let dropped = 0;
    let passedTwcc = 0;
    let other = 0;
    for (const u of r.uplink) {
      const hasTwcc = u.kinds.includes('twcc');
      const onlyTwcc = hasTwcc && u.kinds.every((k) => k === 'twcc');
      if (u.action.action === 'drop') {
        expect(onlyTwcc).toBe(true);
        dropped++;
      } else if (u.action.action === 'rewrite') {
        expect(hasTwcc && !onlyTwcc).toBe(true);
      } else if (u.action.action === 'unknown') {
        expect(hasTwcc).toBe(false); // STUN before the first RTP: no transport yet
      } else {
        expect(u.action.action).toBe('accept');
        if (hasTwcc) passedTwcc++;
        else other++;
      }
    }
    const st = r.fb.status(r.endUs);
    expect(dropped).toBeGreaterThan(10);
    expect(other).toBeGreaterThan(0); // RR / SDES / STUN... passed
    expect(st.counters.clientFeedbackDropped.twcc).toBe(dropped);
    expect(st.counters.clientFeedbackPassed.twcc).toBe(passedTwcc);
    // once reporting starts, the client's TWCC never passes again
    const firstDrop = r.uplink.findIndex((u) => u.action.action === 'drop');
    expect(r.uplink.slice(firstDrop).some((u) => u.kinds.includes('twcc') && u.action.action === 'accept')).toBe(false);
    console.log(`[rtp-feedback] uplink: ${dropped} client TWCC dropped, ${passedTwcc} passed before reporting, ${other} others passed`);
  });

  it('lets the client feedback pass when reporting is off or the transport is idle', () => {
    const r = replay(recs, BASE_CFG, () => 5);
    const twccRec = r.uplink.filter((u) => u.kinds.length > 0 && u.kinds.every((k) => k === 'twcc')).at(-1)!;
    const v = newPacketView();
    decodePacket(twccRec.rec.data, twccRec.rec.linkType, v);
    const lastUs = recs[recs.length - 1]!.tUs;
    expect(r.fb.onUplink(lastUs, v, twccRec.rec.data).action).toBe('drop');
    r.fb.setReporting(false);
    expect(r.fb.onUplink(lastUs, v, twccRec.rec.data).action).toBe('accept');
    expect(r.fb.poll(lastUs + 10_000_000)).toEqual([]);
    r.fb.setReporting(true);
    expect(r.fb.onUplink(lastUs + 1_500_000, v, twccRec.rec.data).action).toBe('accept'); // nothing recorded for 1.5 s
  });

  it('rewrites a compound RR + TWCC + PLI: TWCC removed, lengths and checksums right', () => {
    const r = replay(recs, BASE_CFG, () => 5);
    const t = r.fb.status(r.endUs).list[0]!;
    const twcc = serializeTwcc({ senderSsrc: t.clientSenderSsrc, mediaSsrc: t.mediaSsrc, baseSeq: 100, referenceTime64ms: 5, fbPktCount: 1, deltas: [4, null, null, 5] });
    expect(twcc[0]! & 0x20).toBe(0); // unpadded: padding is only allowed on the last sub-packet
    const rr = buildRr(t.clientSenderSsrc, [{ ssrc: t.mediaSsrc, extendedHighestSeq: 1234 }]);
    const pli = buildPli(t.clientSenderSsrc, t.mediaSsrc);
    const compound = buildCompound([rr, twcc, pli]);
    const pkt = udp4(CLIENT, 43313, SERVER, 35281, compound);
    const v = newPacketView();
    decodePacket(pkt, 'raw-ip', v);
    const lastUs = recs[recs.length - 1]!.tUs;
    const a = r.fb.onUplink(lastUs, v, pkt);
    expect(a.action).toBe('rewrite');
    if (a.action !== 'rewrite') return;
    const out = a.packet;
    expect(out.length).toBe(pkt.length - twcc.length);
    expect(verifyIpv4HeaderChecksum(out, 0)).toBe(true);
    expect(verifyL4Checksum(out, 0)).toBe(true);
    const w = newPacketView();
    decodePacket(out, 'raw-ip', w);
    expect(w.ipTotalLength).toBe(out.length);
    expect(w.udpLength).toBe(8 + rr.length + pli.length);
    expect(rtcpKinds(out, w)).toEqual(['rr', 'pli']);
    expect(Buffer.from(out.subarray(w.payloadOffset))).toEqual(Buffer.from(buildCompound([rr, pli])));
    expect(pkt.length).toBe(20 + 8 + compound.length); // the input is untouched
    expect(r.fb.status(r.endUs).counters.clientFeedbackRewritten.twcc).toBe(1);
  });

  it('tshark decodes a generated packet as RTCP transport-cc', (ctx) => {
    let tshark = true;
    try {
      execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    } catch {
      tshark = false;
    }
    if (!tshark) {
      ctx.skip();
      return;
    }
    const r = replay(recs, BASE_CFG, () => 5);
    const w = pcapWriter(DLT_RAW);
    const parts = [w.header(), ...r.sent.slice(0, 5).map((s) => w.record(s.tUs, s.pkt))];
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-rtpfb-'));
    try {
      const file = join(dir, 'fb.pcap');
      writeFileSync(file, Buffer.concat(parts));
      const txt = execFileSync(
        'tshark',
        ['-r', file, '-d', 'udp.port==35281,rtcp', '-T', 'fields', '-E', 'separator=,', '-e', 'rtcp.pt', '-e', 'rtcp.rtpfb.fmt', '-e', 'rtcp.rtpfb.transportcc.baseseq', '-e', 'udp.checksum.status', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-e', 'ip.checksum.status'],
        { encoding: 'utf8' },
      );
      const lines = txt.trim().split('\n');
      expect(lines).toHaveLength(5);
      const v = newPacketView();
      lines.forEach((line, i) => {
        const [pt, fmt, base, udpOk, ipOk] = line.split(',');
        decodePacket(r.sent[i]!.pkt, 'raw-ip', v);
        expect(pt).toBe('205');
        expect(fmt).toBe(String(RTPFB_FMT_TWCC));
        expect(Number(base)).toBe(parseTwcc(r.sent[i]!.pkt, v.payloadOffset, v.payloadLength).baseSeq);
        expect(udpOk).toBe('1'); // Wireshark checksum status: 0 bad, 1 good, 2 unverified
        expect(ipOk).toBe('1');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('markLost removes a packet from the next feedback and keeps the other arrivals', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: EXT_ID });
    const v = newPacketView();
    const rtp = newRtpView();
    const seqs: Array<{ seq: number; tUs: number }> = [];
    let rrSeen = false;
    for (const r of recs) {
      if (r.tUs > 12_000_000) break;
      decodePacket(r.data, r.linkType, v);
      if (r.down) {
        fb.onDownlink(r.tUs, v, r.data, 2);
        const b1 = r.data[v.payloadOffset + 1]! & 0x7f;
        if (r.data[v.payloadOffset]! >> 6 === 2 && !(b1 >= 64 && b1 <= 95)) {
          parseRtpHeader(r.data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength, rtp);
          const s = readTransportWideSeq(r.data, rtp, EXT_ID);
          if (s >= 0) seqs.push({ seq: s, tUs: r.tUs + 2000 });
        }
      } else if (fb.onUplink(r.tUs, v, r.data).action !== 'unknown') rrSeen = true;
      if (r.tUs < 11_000_000) fb.poll(r.tUs); // everything before 11 s is reported (or discarded)
    }
    expect(rrSeen).toBe(true);
    // the seqs recorded after the last poll (11 s..12 s) are pending
    const pending = seqs.filter((s) => s.tUs - 2000 >= 11_000_000);
    const lost = new Set([pending[3]!.seq, pending[4]!.seq, pending[10]!.seq]);
    const tv = newPacketView();
    decodePacket(recs.find((x) => x.down)!.data, recs[0]!.linkType, tv);
    for (const s of lost) expect(fb.markLost(tv, s)).toBe(true);
    const sent = fb.poll(12_000_000);
    const rep = checkGenerated(sent.map((pkt) => ({ tUs: 0, pkt })));
    const bySeq = new Map(rep.map((x) => [x.seq, x.arrivalUs]));
    for (const p of pending) {
      const a = bySeq.get(p.seq);
      if (lost.has(p.seq)) expect(a).toBeNull();
      else expect(Math.abs(a! - p.tUs)).toBeLessThanOrEqual(250);
    }
    // a mark after the build that reported the packet is too late: counted, the next feedback is unaffected
    expect(fb.markLost(tv, pending[20]!.seq)).toBe(true);
    const next = recs.find((x) => x.down && x.tUs > 12_000_000 && x.data.length > 200)!;
    decodePacket(next.data, next.linkType, v);
    expect(fb.onDownlink(next.tUs, v, next.data, 2)).toBe(true);
    const after = checkGenerated(fb.poll(next.tUs + 60_000).map((pkt) => ({ tUs: 0, pkt })));
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((x) => x.arrivalUs !== null)).toBe(true);
    const c = fb.status(next.tUs).counters;
    expect(c.lostMarked).toBe(4);
    expect(c.lostTooLate).toBe(1);
  });
});

describe('RtpFeedback on the Chromium DTLS-SRTP capture', () => {
  const recs = load('chromium-srtp-4s.pcap');
  it.each(['delay', 'off'] as const)("classes the transport as encrypted, touches nothing (srtcpFallback %s)", (fallback) => {
    const r = replay(recs, { ...BASE_CFG, srtcpFallback: fallback }, () => 5);
    expect(r.sent).toEqual([]);
    const st = r.fb.status(r.endUs);
    expect(st.transports).toBe(1);
    expect(st.list[0]!.mode).toBe(fallback === 'delay' ? 'srtcp-delay' : 'passthrough');
    expect(st.list[0]!.twccExtId).toBeGreaterThan(0); // SRTP headers are plaintext: the ext is still found
    const modes = st.list[0]!.history.filter((e) => e.event === 'mode');
    if (fallback === 'delay') expect(modes.at(-1)).toMatchObject({ mode: 'srtcp-delay', why: expect.stringMatching(/^srtcp (up|down)link$/) as unknown });
    else expect(modes.every((e) => e.mode !== 'twcc' || e.why.startsWith('extension id'))).toBe(true);
    const actions = r.uplink.map((u) => u.action.action);
    expect(actions.filter((a) => a === 'drop' || a === 'rewrite')).toEqual([]);
    const srtcp = r.uplink.filter((u) => u.action.action === 'srtcp').length;
    if (fallback === 'delay') expect(srtcp).toBeGreaterThan(5);
    else expect(srtcp).toBe(0);
    expect(st.counters.srtcpUplink).toBeGreaterThan(5);
    expect(st.counters.feedbackBuilt.twcc).toBe(0);
  });
});

// ------------------------------------------------------------------------- synthetic ----

function ipv4Words(s: string): number {
  return s.split('.').reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
}

function udp4(src: string, sport: number, dst: string, dport: number, payload: Uint8Array, tos = 0): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  p[1] = tos;
  dv.setUint16(2, p.length);
  dv.setUint16(4, 0x1234);
  p[8] = 63;
  p[9] = 17;
  dv.setUint32(12, ipv4Words(src));
  dv.setUint32(16, ipv4Words(dst));
  dv.setUint16(20, sport);
  dv.setUint16(22, dport);
  dv.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  fixIpPacketChecksums(p, 0);
  return p;
}

function udp6(src: number[], sport: number, dst: number[], dport: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(48 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, 8 + payload.length);
  p[6] = 17;
  p[7] = 63;
  src.forEach((w, i) => dv.setUint32(8 + 4 * i, w >>> 0));
  dst.forEach((w, i) => dv.setUint32(24 + 4 * i, w >>> 0));
  dv.setUint16(40, sport);
  dv.setUint16(42, dport);
  dv.setUint16(44, 8 + payload.length);
  p.set(payload, 48);
  fixIpPacketChecksums(p, 0);
  return p;
}

function twSeqExt(seq: number): { id: number; data: Uint8Array } {
  return { id: 3, data: new Uint8Array([seq >> 8, seq & 0xff]) };
}

describe('RtpFeedback synthetic transports', () => {
  it('IPv6: generated TWCC from client to server with the client traffic class, checksums right', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, twccExtensionId: 3 });
    const S = [0x20010db8, 0, 0, 1];
    const C = [0x20010db8, 0, 1, 2];
    const v = newPacketView();
    for (let i = 0; i < 30; i++) {
      const pkt = udp6(S, 5004, C, 6000, buildRtp({ payloadType: 96, sequenceNumber: 7 + i, timestamp: i * 3000, ssrc: 0xabc, extensions: [twSeqExt(65530 + i)] }));
      decodePacket(pkt, 'raw-ip', v);
      expect(fb.onDownlink(1_000_000 + i * 1000, v, pkt, 4)).toBe(true);
      if (i === 0) {
        const rr = udp6(C, 6000, S, 5004, buildRr(0x5150, [{ ssrc: 0xabc }]));
        rr[0] = 0x6b; // traffic class 0xb8 (EF): 4 bits in byte 0, 4 in byte 1
        rr[1] = 0x80;
        decodePacket(rr, 'raw-ip', v);
        expect(fb.onUplink(1_000_000, v, rr).action).toBe('accept');
      }
    }
    const sent = fb.poll(1_100_000);
    expect(sent.length).toBe(1);
    const p = sent[0]!;
    decodePacket(p, 'raw-ip', v);
    expect(v.l3).toBe('ipv6');
    expect([v.src0, v.src1, v.src2, v.src3].map((x) => x >>> 0)).toEqual(C);
    expect([v.dst0, v.dst1, v.dst2, v.dst3].map((x) => x >>> 0)).toEqual(S);
    expect(v.srcPort).toBe(6000);
    expect(v.dstPort).toBe(5004);
    expect(v.ttl).toBe(64);
    expect(v.tos).toBe(0xb8); // the client's traffic class
    expect(v.ipTotalLength).toBe(p.length);
    expect(verifyL4Checksum(p, 0)).toBe(true);
    const f = parseTwcc(p, v.payloadOffset, v.payloadLength);
    expect(f.senderSsrc).toBe(0x5150);
    expect(f.mediaSsrc).toBe(0xabc);
    expect(f.baseSeq).toBe(65530); // wraps through 0
    expect(f.deltas).toHaveLength(30);
    const arr = arrivalsUsFromTwcc(f);
    arr.forEach((a, i) => expect(Math.abs(a! - (1_000_000 + i * 1000 + 4000))).toBeLessThanOrEqual(125));
  });

  it('CCFB: a client using RFC 8888 gets CCFB built and its own CCFB dropped', () => {
    const fb = new RtpFeedback(BASE_CFG);
    const v = newPacketView();
    const ccfbOf = (ssrc: number): Uint8Array =>
      serializeCcfb({ senderSsrc: 0x77, reportTimestampNtp32: 1000, streams: [{ ssrc, beginSeq: 1, metrics: [{ received: true, ecn: 0, atoUnits: 3 }] }] });
    const send = (i: number, ecn: number): void => {
      const pkt = udp4(SERVER, 5004, CLIENT, 6000, buildRtp({ payloadType: 96, sequenceNumber: 100 + i, timestamp: i, ssrc: 0x1111 }), ecn);
      decodePacket(pkt, 'raw-ip', v);
      fb.onDownlink(2_000_000 + i * 2000, v, pkt, 10);
    };
    send(0, 1);
    const up = udp4(CLIENT, 6000, SERVER, 5004, ccfbOf(0x1111));
    decodePacket(up, 'raw-ip', v);
    expect(fb.onUplink(2_000_500, v, up).action).toBe('accept'); // nothing recorded yet
    for (let i = 1; i < 20; i++) send(i, i % 2 === 0 ? 1 : 0);
    expect(fb.status(2_040_000).list[0]!.mode).toBe('ccfb');
    decodePacket(up, 'raw-ip', v);
    expect(fb.onUplink(2_040_000, v, up).action).toBe('drop');
    const sent = fb.poll(2_050_000);
    expect(sent.length).toBe(1);
    const w = newPacketView();
    decodePacket(sent[0]!, 'raw-ip', w);
    expect(verifyIpv4HeaderChecksum(sent[0]!, 0) && verifyL4Checksum(sent[0]!, 0)).toBe(true);
    const rep = parseCcfb(sent[0]!, w.payloadOffset, w.payloadLength);
    expect(rep.senderSsrc).toBe(0x77);
    expect(rep.streams).toHaveLength(1);
    const b = rep.streams[0]!;
    expect(b.ssrc).toBe(0x1111);
    expect(b.beginSeq).toBe(101);
    expect(b.metrics).toHaveLength(19);
    expect(b.metrics.every((m) => m.received)).toBe(true);
    expect(b.metrics.map((m) => m.ecn)).toEqual(Array.from({ length: 19 }, (_, k) => ((k + 1) % 2 === 0 ? 1 : 0)));
    const st = fb.status(2_050_000);
    expect(st.counters.feedbackBuilt.ccfb).toBe(1);
    expect(st.counters.clientFeedbackDropped.ccfb).toBe(1);
  });

  it('ignores non-RTP UDP (QUIC, DNS-like) and bounds the transport table', () => {
    const fb = new RtpFeedback({ ...BASE_CFG, maxTransports: 8 });
    const v = newPacketView();
    const quic = new Uint8Array(40);
    quic[0] = 0xc3;
    quic.set([0, 0, 0, 1], 1); // QUIC v1 long header
    quic[5] = 8;
    quic[14] = 8;
    const q = udp4(SERVER, 443, CLIENT, 5555, quic);
    decodePacket(q, 'raw-ip', v);
    expect(fb.onDownlink(1, v, q, 1)).toBe(false);
    const dns = udp4(SERVER, 53, CLIENT, 5555, new Uint8Array([0x12, 0x34, 1, 0, 0, 1]));
    decodePacket(dns, 'raw-ip', v);
    expect(fb.onDownlink(1, v, dns, 1)).toBe(false);
    expect(fb.onUplink(1, v, dns).action).toBe('unknown');
    for (let i = 0; i < 50; i++) {
      const pkt = udp4(SERVER, 5004, CLIENT, 10000 + i, buildRtp({ payloadType: 96, sequenceNumber: i, timestamp: 0, ssrc: i }));
      decodePacket(pkt, 'raw-ip', v);
      expect(fb.onDownlink(i, v, pkt, 1)).toBe(true);
    }
    expect(fb.transportCount).toBe(8);
    expect(fb.counters.transportsEvicted).toBe(42);
    fb.poll(100_000_000); // idle expiry
    expect(fb.transportCount).toBe(0);
  });

  it('rejects a bad extension id', () => {
    expect(() => new RtpFeedback({ ...BASE_CFG, twccExtensionId: 0 })).toThrow(RangeError);
    expect(() => new RtpFeedback({ ...BASE_CFG, twccExtensionId: 256 })).toThrow(RangeError);
  });
});

describe('RtpFeedback never throws on bad traffic (fast-check)', () => {
  const recs = load('chromium-plaintext-4s.pcap');

  it('random, truncated and mutated packets in both directions', () => {
    const v = newPacketView();
    const base = recs.map((r) => {
      decodePacket(r.data, r.linkType, v);
      return { ...r, ip: r.data.slice(v.ipOffset) };
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            i: fc.nat(base.length - 1),
            mut: fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
            cut: fc.option(fc.nat(400)),
            fixSums: fc.boolean(),
            random: fc.option(fc.uint8Array({ minLength: 0, maxLength: 120 })),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (ops) => {
          const fb = new RtpFeedback({ ...BASE_CFG, feedbackIntervalMs: 5 });
          // warm up: a live transport that reports
          for (const r of base.slice(0, 300)) {
            decodePacket(r.ip, 'raw-ip', v);
            if (r.down) fb.onDownlink(r.tUs, v, r.ip, 3);
            else fb.onUplink(r.tUs, v, r.ip);
          }
          let t = base[299]!.tUs;
          for (const op of ops) {
            const src = base[op.i]!;
            let pkt = op.random ?? src.ip.slice();
            for (const [o, b] of op.mut) if (o < pkt.length && o >= 20) pkt[o] = b;
            if (op.cut !== null) pkt = pkt.subarray(0, op.cut);
            if (op.fixSums && op.random === null && op.cut === null) {
              try {
                fixIpPacketChecksums(pkt, 0);
              } catch (err) {
                if (!(err instanceof ParseError)) throw err;
              }
            }
            try {
              decodePacket(pkt, 'raw-ip', v);
            } catch (err) {
              if (err instanceof ParseError) continue;
              throw err;
            }
            t += 700;
            if (src.down) fb.onDownlink(t, v, pkt, 3);
            else {
              const a = fb.onUplink(t, v, pkt);
              if (a.action === 'rewrite') {
                expect(verifyL4Checksum(a.packet, 0)).toBe(true);
                const w = newPacketView();
                decodePacket(a.packet, 'raw-ip', w);
                expect(w.ipTotalLength).toBe(a.packet.length);
              }
            }
            for (const out of fb.poll(t)) {
              decodePacket(out, 'raw-ip', v);
              expect(verifyL4Checksum(out, 0)).toBe(true);
              const c = new RtcpCompoundCursor().reset(out, v.payloadOffset, v.payloadOffset + v.payloadLength);
              expect(c.next()).toBe(true);
              expect(c.view.packetType).toBe(RTCP_PT_RTPFB);
            }
          }
          fb.status(t);
        },
      ),
      { numRuns: 150 },
    );
  });
});
