import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DLT_RAW } from '../../src/protocols/packet.js';
import { pcapWriter } from '../../src/protocols/pcap-file.js';
import { REMB_UNLIMITED_BPS } from '../../src/protocols/rtcp/remb.js';
import { capTimeline } from '../../testbed/webrtc/cap-timeline.js';
import { udpPacket } from '../helpers/packets.js';
import { buildRemb } from '../helpers/rtcp-packets.js';
import { buildRtp } from '../helpers/rtp-packets.js';

const SRV = { addr: '10.0.1.1', port: 40000 };
const CLI = { addr: '10.0.3.2', port: 50000 };
const T0_US = 1_700_000_000_000_000;

function pcap(records: Array<{ tMs: number; pkt: Uint8Array }>): Buffer {
  const w = pcapWriter(DLT_RAW);
  return Buffer.concat([w.header(), ...records.map((r) => w.record(T0_US + r.tMs * 1000, r.pkt))]);
}

const rtp = (seq: number): Uint8Array => udpPacket(SRV, CLI, buildRtp({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0x1234 }));
const remb = (bps: number): Uint8Array => udpPacket(CLI, SRV, buildRemb(1, bps, [0x1234]));

describe('capTimeline: the cap in force, what the sender sent and what the link served, per bin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-captl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bins the media both ways, takes the last REMB of each bin, and reads the lift as unlimited', () => {
    // 10 media packets in the first 500 ms bin, 4 in the second; the link serves 6 then 8
    const sent = [...Array.from({ length: 10 }, (_, i) => ({ tMs: i * 40, pkt: rtp(i) })), ...Array.from({ length: 4 }, (_, i) => ({ tMs: 500 + i * 100, pkt: rtp(10 + i) }))];
    const served = [...sent.slice(0, 6).map((r) => ({ tMs: r.tMs + 20, pkt: r.pkt })), ...sent.slice(6).map((r, i) => ({ tMs: 520 + i * 50, pkt: r.pkt }))];
    const rembs = [
      { tMs: 200, pkt: remb(300_000) },
      { tMs: 450, pkt: remb(150_000) },
      { tMs: 800, pkt: remb(REMB_UNLIMITED_BPS) },
    ];
    writeFileSync(join(dir, 'ap-eth.pcap'), pcap([...sent, ...rembs].sort((a, b) => a.tMs - b.tMs)));
    writeFileSync(join(dir, 'ap-wlan.pcap'), pcap(served));
    writeFileSync(join(dir, 'packets.tsv'), 'seq\tsizeBytes\tapArrivalMs\tdepartureMs\n1\t100\t0\t20\n2\t100\t40\t250\n3\t100\t600\t640\n4\t100\t700\t\n');
    const bins = capTimeline(dir, 500);
    expect(bins).toHaveLength(2);
    const size = rtp(0).length * 8;
    expect(bins[0]?.sentMbps).toBeCloseTo((10 * size) / 500_000, 6);
    expect(bins[0]?.servedMbps).toBeCloseTo((6 * size) / 500_000, 6);
    expect(bins[1]?.servedMbps).toBeCloseTo((8 * size) / 500_000, 6);
    expect(bins[0]?.sojournMaxMs).toBe(210);
    expect(bins[1]?.sojournMaxMs).toBe(40); // a packet with no departure is no sojourn
    expect(bins[0]?.capBps).toBe(150_000);
    expect(bins[1]?.capBps).toBe(Number.POSITIVE_INFINITY);
  });
});
