/** RtpFeedback end to end on the Chromium plaintext capture (reports, tshark decoding) and on bad traffic. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtpFeedback } from '../../../src/engine/rtp/rtp-feedback.js';
import { fixIpPacketChecksums, verifyL4Checksum } from '../../../src/protocols/checksum.js';
import { ParseError } from '../../../src/protocols/errors.js';
import { decodePacket, DLT_RAW, newPacketView } from '../../../src/protocols/packet.js';
import { pcapWriter } from '../../../src/protocols/pcap-file.js';
import { RTCP_PT_RTPFB, RTPFB_FMT_TWCC, RtcpCompoundCursor } from '../../../src/protocols/rtcp/index.js';
import { parseTwcc } from '../../../src/protocols/rtcp/index.js';
import { EXT_ID, load, BASE_CFG, replay, checkGenerated, checkReports } from './_helpers.js';

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
