import { describe, expect, it } from 'vitest';
import { DLT_RAW } from '../../src/protocols/packet.js';
import { pcapWriter } from '../../src/protocols/pcap-file.js';
import { buildRtp } from '../helpers/rtp-packets.js';
import { serializeTwcc } from '../../src/protocols/rtcp/index.js';
import { buildPacketTable } from '../../testbed/webrtc/packet-table.js';
import { summarizeTable } from '../../testbed/webrtc/packet-table-summary.js';
import { twccExtIdFromSdp } from '../../testbed/webrtc/evidence.js';
import { udpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.9.1.1', port: 5000 };
const CLI = { addr: '10.9.3.2', port: 6000 };
const EXT = 3;
const T0 = 1_700_000_000_000_000;

function rtp(seq: number): Uint8Array {
  const ext = new Uint8Array([seq >> 8, seq & 0xff]);
  return udpPacket(SRV, CLI, buildRtp({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0x1234, extensions: [{ id: EXT, data: ext }], payload: new Uint8Array(100) }));
}

/** one TWCC packet reporting seqs from base at the given reporter-clock times (null = lost) */
function twcc(base: number, timesUs: Array<number | null>, senderSsrc: number): Uint8Array {
  const first = timesUs.find((t) => t !== null) ?? 0;
  const ref = Math.floor(first / 64_000);
  let last = ref * 64_000;
  const deltas = timesUs.map((t) => {
    if (t === null) return null;
    const d = Math.round((t - last) / 250);
    last += d * 250;
    return d;
  });
  return udpPacket(CLI, SRV, serializeTwcc({ senderSsrc, mediaSsrc: 0x1234, baseSeq: base, referenceTime64ms: ref, fbPktCount: 0, deltas }));
}

function pcap(recs: Array<[number, Uint8Array]>): Uint8Array {
  const w = pcapWriter(DLT_RAW);
  return Buffer.concat([w.header(), ...recs.map(([t, d]) => w.record(t, d))]);
}

describe('per-packet table', () => {
  // 6 packets arrive 10 ms apart; the queue holds them 0, 5, 10, 15, 20 ms; packet 5 is dropped
  const arrive = [0, 10, 20, 30, 40, 50].map((ms) => T0 + ms * 1000);
  const depart = [0, 15, 30, 45, 60].map((ms) => T0 + ms * 1000);
  const CLIENT_CLOCK = -T0 + 5_000_000; // the client's clock: another origin
  const ZHUGE_CLOCK = -T0 + 9_000_000;
  // zhuge reports packet 2 earlier than packet 1 (a backward step) and packet 5 received
  const zhugeUs = [0, 26, 24, 45, 61, 75].map((ms) => T0 + ms * 1000 + ZHUGE_CLOCK);
  const clientUs = [0, 15, 30, 45, 60].map((ms) => T0 + ms * 1000 + CLIENT_CLOCK);
  const input = {
    apEth: pcap([...arrive.map((t, i): [number, Uint8Array] => [t, rtp(100 + i)]), [T0 + 80_000, twcc(100, zhugeUs, 0xaaaa)]]),
    apWlan: pcap(depart.map((t, i): [number, Uint8Array] => [t, rtp(100 + i)])),
    client: pcap([...depart.map((t, i): [number, Uint8Array] => [t + 10, rtp(100 + i)]), [T0 + 90_000, twcc(100, [...clientUs, null], 0xbbbb)]]),
    twccExtId: EXT,
  };

  it('keys every packet by its transport-wide sequence number and aligns the clocks', () => {
    const t = buildPacketTable(input);
    expect(t.rows.map((r) => r.seq)).toEqual([100, 101, 102, 103, 104, 105]);
    expect(t.feedbackPackets).toEqual({ zhuge: 1, client: 1, clientPassed: 0 });
    expect(t.zhugeOffsetFrom).toBe('min-sojourn');
    const r1 = t.rows[1];
    expect(r1?.apArrivalUs).toBe(arrive[1]);
    expect(r1?.departureUs).toBe(depart[1]);
    expect(r1?.clientArrivalUs).toBe((depart[1] ?? 0) + 10);
    // the client's series aligned on its arrivals (median residual 10 µs: its capture)
    expect(Math.abs((r1?.clientReportedUs ?? 0) - (r1?.clientArrivalUs ?? 0))).toBeLessThanOrEqual(260);
    // zhuge's aligned so that its smallest reported sojourn (0) is the smallest observed (0)
    expect(Math.abs((r1?.zhugeReportedUs ?? 0) - ((arrive[1] ?? 0) + 16_000))).toBeLessThanOrEqual(260);
    expect(t.rows[5]?.clientLost).toBe(true);
    expect(t.rows[5]?.senderReportFrom).toBe('zhuge');
  });

  it('counts backward steps, drops reported received and the error against the client', () => {
    const s = summarizeTable(buildPacketTable(input).rows);
    expect(s.queueDrops).toBe(1);
    expect(s.series.zhuge.backwards).toBe(1);
    expect(s.series.zhuge.largestBackwardMs).toBeCloseTo(2, 0);
    expect(s.series.zhuge.droppedReportedReceived).toBe(1);
    expect(s.series.client.backwards).toBe(0);
    expect(s.series.client.droppedReportedReceived).toBe(0);
    expect(s.series.client.reportedLost).toBe(1);
    // zhuge reported packet 1 11 ms late
    expect(s.series.zhuge.absErrorP99Ms).toBeGreaterThan(10);
    expect(s.series.client.absErrorP99Ms).toBeLessThan(1);
  });

  it('uses a given zhuge clock offset as is', () => {
    const t = buildPacketTable({ ...input, zhugeOffsetUs: -ZHUGE_CLOCK });
    expect(t.zhugeOffsetFrom).toBe('given');
    expect(Math.abs((t.rows[3]?.zhugeReportedUs ?? 0) - (T0 + 45_000))).toBeLessThanOrEqual(260);
  });

  it.each([
    ['a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n', 3],
    ['a=extmap:5/sendrecv http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\n', 5],
    ['a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid\n', -1],
  ])('finds the extension id in %j', (sdp, id) => {
    expect(twccExtIdFromSdp(sdp)).toBe(id);
  });
});
