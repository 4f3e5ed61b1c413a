/**
 * The per-packet evidence of one WebRTC call: one row per transport-wide sequence number, built
 * offline from three captures taken on the testbed during the call (all namespaces share one
 * kernel, so every capture timestamp is on the same wall clock):
 *
 *   capture          where                          gives
 *   apEth   (any)    ap namespace, Ethernet side    AP arrival of each RTP packet (inbound), and the
 *                                                   TWCC the sender receives (outbound): zhuge's own
 *                                                   and any of the client's that passed
 *   apWlan  (out)    ap namespace, Wi-Fi side       departure from the Wi-Fi queue
 *   client  (any)    cli namespace                  arrival at the client (inbound) and the client's
 *                                                   own TWCC (outbound, before zhuge can remove it)
 *
 * A TWCC packet seen at apEth whose bytes the client never sent is zhuge's. Reported times are in
 * the reporter's clock: the client's series is aligned on the capture clock by the median of
 * (reported - captured arrival) (its residual is then the client's own timing noise); zhuge's by
 * the offset the caller gives (the daemon's wall - monotonic clock offset) or, without it, so that
 * its smallest reported sojourn equals the smallest observed one. GCC only reads differences
 * between reported times, which no offset changes.
 *
 * Pure: takes the capture files' bytes, returns the table; reading and writing files is the
 * caller's (testbed/webrtc/evidence.ts).
 */
import { newPacketView, type PacketView } from '../../src/protocols/packet.js';
import { decodedCapture } from '../decoded-capture.js';
import { RtcpCompoundCursor } from '../../src/protocols/rtcp/index.js';
import { newRtpView, parseRtpHeader, readTransportWideSeq } from '../../src/protocols/rtp.js';
import { arrivalsUsFromTwcc, parseTwcc } from '../../src/protocols/rtcp/index.js';
import { SeqUnwrapper } from '../../src/feedback-updater/seq-tracker.js';

export interface PacketRow {
  /** transport-wide sequence number, unwrapped (first packet of the call: its 16-bit value) */
  seq: number;
  /** IP datagram length */
  sizeBytes: number;
  /** capture clock (wall, µs); null: not seen there */
  apArrivalUs: number | null;
  departureUs: number | null;
  clientArrivalUs: number | null;
  /** what zhuge reported, aligned on the capture clock; null: not reported (see zhugeLost) */
  zhugeReportedUs: number | null;
  /** zhuge reported the packet not received */
  zhugeLost: boolean;
  clientReportedUs: number | null;
  clientLost: boolean;
  /** what the sender received (zhuge's or the client's feedback, whichever reached it first) */
  senderReportedUs: number | null;
  senderLost: boolean;
  /** who the sender's report came from */
  senderReportFrom: 'zhuge' | 'client' | null;
}

export interface PacketTableInput {
  apEth: Uint8Array;
  apWlan: Uint8Array;
  client: Uint8Array;
  /** the transport-wide sequence number's header extension id (from the SDP) */
  twccExtId: number;
  /** wall - zhuge's reported clock (µs), when known */
  zhugeOffsetUs?: number;
}

export interface PacketTable {
  rows: PacketRow[];
  /** offsets applied to the reported series (µs, capture clock - reporter clock) */
  zhugeOffsetUs: number | null;
  clientOffsetUs: number | null;
  /** how zhuge's offset was found */
  zhugeOffsetFrom: 'given' | 'min-sojourn' | 'none';
  feedbackPackets: { zhuge: number; client: number; clientPassed: number };
}

interface Report {
  tUs: number | null; // reporter clock; null = reported lost
  atUs: number; // when the feedback was captured
}

interface Scan {
  rtp: Map<number, { tUs: number; size: number }>;
  /** feedback sub-packets: hex of the bytes -> reports by 16-bit seq */
  feedback: Array<{ key: string; atUs: number; reports: Array<{ seq16: number; tUs: number | null }> }>;
}

const view: PacketView = newPacketView();
const rtpView = newRtpView();
const cursor = new RtcpCompoundCursor();

function isRtcpPt(b1: number): boolean {
  return b1 >= 192 && b1 <= 223;
}

/** RTP packets with the transport-wide sequence number, and TWCC feedback, of one capture. */
function scan(pcap: Uint8Array, extId: number, wantRtp: boolean, wantFeedback: boolean): Scan {
  const out: Scan = { rtp: new Map(), feedback: [] };
  const unwrap = new SeqUnwrapper();
  for (const rec of decodedCapture(pcap, view)) {
    if (view.l4 !== 'udp' || view.capturedPayloadLength < 8) continue;
    const o = view.payloadOffset;
    const end = o + view.capturedPayloadLength;
    const b0 = rec.data[o] ?? 0;
    const b1 = rec.data[o + 1] ?? 0;
    if (b0 >> 6 !== 2) continue;
    if (!isRtcpPt(b1)) {
      if (!wantRtp) continue;
      try {
        parseRtpHeader(rec.data, o, end, rtpView);
        const s16 = readTransportWideSeq(rec.data, rtpView, extId);
        if (s16 < 0) continue;
        const seq = unwrap.unwrap(s16);
        if (!out.rtp.has(seq)) out.rtp.set(seq, { tUs: rec.tUs, size: view.ipTotalLength });
      } catch {
        // not RTP after all: ignored
      }
      continue;
    }
    if (!wantFeedback) continue;
    try {
      cursor.reset(rec.data, o, end);
      while (cursor.next()) {
        const v = cursor.view;
        if (v.kind !== 'twcc') continue;
        const fb = parseTwcc(rec.data, v.offset, v.byteLength);
        const times = arrivalsUsFromTwcc(fb);
        const reports = times.map((t, i) => ({ seq16: (fb.baseSeq + i) & 0xffff, tUs: t }));
        out.feedback.push({ key: Buffer.from(rec.data.subarray(v.offset, v.offset + v.byteLength)).toString('hex'), atUs: rec.tUs, reports });
      }
    } catch {
      // malformed or truncated feedback (snap length): ignored
    }
  }
  return out;
}

/**
 * Maps 16-bit reported sequence numbers to the unwrapped ones of the media (the nearest), and
 * keeps the first report of each packet; the reference time is unwrapped across its 24 bits.
 */
function collect(feedback: Scan['feedback'], keep: (key: string) => boolean, seqs: number[]): Map<number, Report> {
  const out = new Map<number, Report>();
  const near = new SeqUnwrapper();
  if (seqs.length > 0) near.unwrap((seqs[0] ?? 0) & 0xffff);
  let refOffsetUs = 0;
  let lastRefUs: number | null = null;
  const wrapUs = 2 ** 24 * 64_000;
  for (const f of feedback) {
    if (!keep(f.key)) continue;
    const first = f.reports.find((r) => r.tUs !== null)?.tUs ?? null;
    if (first !== null && lastRefUs !== null) {
      const d = first + refOffsetUs - lastRefUs;
      if (d < -wrapUs / 2) refOffsetUs += wrapUs;
      else if (d > wrapUs / 2) refOffsetUs -= wrapUs;
    }
    if (first !== null) lastRefUs = first + refOffsetUs;
    for (const r of f.reports) {
      const seq = near.unwrap(r.seq16);
      if (out.has(seq)) continue;
      out.set(seq, { tUs: r.tUs === null ? null : r.tUs + refOffsetUs, atUs: f.atUs });
    }
  }
  return out;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? null;
}

export function buildPacketTable(input: PacketTableInput): PacketTable {
  const eth = scan(input.apEth, input.twccExtId, true, true);
  const wlan = scan(input.apWlan, input.twccExtId, true, false);
  const cli = scan(input.client, input.twccExtId, true, true);
  const clientKeys = new Set(cli.feedback.map((f) => f.key));
  const seqs = [...eth.rtp.keys()].sort((a, b) => a - b);
  const clientReports = collect(cli.feedback, () => true, seqs);
  const zhugeReports = collect(eth.feedback, (k) => !clientKeys.has(k), seqs);
  const passedReports = collect(eth.feedback, (k) => clientKeys.has(k), seqs);

  // the client's clock: the median of (reported - captured arrival)
  const cd: number[] = [];
  for (const [seq, r] of clientReports) {
    const a = cli.rtp.get(seq);
    if (r.tUs !== null && a !== undefined) cd.push(a.tUs - r.tUs);
  }
  const clientOffsetUs = median(cd);
  // zhuge's clock: given, or its smallest reported sojourn = the smallest observed one
  let zhugeOffsetUs: number | null = input.zhugeOffsetUs ?? null;
  let zhugeOffsetFrom: PacketTable['zhugeOffsetFrom'] = zhugeOffsetUs !== null ? 'given' : 'none';
  if (zhugeOffsetUs === null) {
    let minReported = Infinity;
    let minObserved = Infinity;
    for (const [seq, r] of zhugeReports) {
      const a = eth.rtp.get(seq);
      const d = wlan.rtp.get(seq);
      if (r.tUs === null || a === undefined) continue;
      minReported = Math.min(minReported, r.tUs - a.tUs);
      if (d !== undefined) minObserved = Math.min(minObserved, d.tUs - a.tUs);
    }
    if (Number.isFinite(minReported) && Number.isFinite(minObserved)) {
      zhugeOffsetUs = minObserved - minReported;
      zhugeOffsetFrom = 'min-sojourn';
    }
  }

  const all = new Set<number>([...eth.rtp.keys(), ...cli.rtp.keys()]);
  const rows: PacketRow[] = [];
  for (const seq of [...all].sort((a, b) => a - b)) {
    const a = eth.rtp.get(seq);
    const z = zhugeReports.get(seq);
    const c = clientReports.get(seq);
    const p = passedReports.get(seq);
    // the sender acts on whichever report of the packet reached it first
    const fromZhuge = z !== undefined && (p === undefined || z.atUs <= p.atUs);
    const s = fromZhuge ? z : p;
    const sOffset = fromZhuge ? zhugeOffsetUs : clientOffsetUs;
    rows.push({
      seq,
      sizeBytes: a?.size ?? cli.rtp.get(seq)?.size ?? 0,
      apArrivalUs: a?.tUs ?? null,
      departureUs: wlan.rtp.get(seq)?.tUs ?? null,
      clientArrivalUs: cli.rtp.get(seq)?.tUs ?? null,
      zhugeReportedUs: z?.tUs != null && zhugeOffsetUs !== null ? z.tUs + zhugeOffsetUs : null,
      zhugeLost: z !== undefined && z.tUs === null,
      clientReportedUs: c?.tUs != null && clientOffsetUs !== null ? c.tUs + clientOffsetUs : null,
      clientLost: c !== undefined && c.tUs === null,
      senderReportedUs: s?.tUs != null && sOffset !== null ? s.tUs + sOffset : null,
      senderLost: s !== undefined && s.tUs === null,
      senderReportFrom: s === undefined ? null : fromZhuge ? 'zhuge' : 'client',
    });
  }
  return {
    rows,
    zhugeOffsetUs,
    clientOffsetUs,
    zhugeOffsetFrom,
    feedbackPackets: {
      zhuge: eth.feedback.filter((f) => !clientKeys.has(f.key)).length,
      client: cli.feedback.length,
      clientPassed: eth.feedback.filter((f) => clientKeys.has(f.key)).length,
    },
  };
}

const COLUMNS: ReadonlyArray<keyof PacketRow> = [
  'seq',
  'sizeBytes',
  'apArrivalUs',
  'departureUs',
  'clientArrivalUs',
  'zhugeReportedUs',
  'zhugeLost',
  'clientReportedUs',
  'clientLost',
  'senderReportedUs',
  'senderLost',
  'senderReportFrom',
];

/** The table as TSV, times in ms relative to `t0Us` (3 decimals); empty cells for null. */
export function packetTableTsv(rows: readonly PacketRow[], t0Us: number): string {
  const cell = (k: keyof PacketRow, r: PacketRow): string => {
    const v = r[k];
    if (v === null) return '';
    if (typeof v === 'boolean') return v ? '1' : '0';
    if (typeof v === 'number' && k.endsWith('Us')) return ((v - t0Us) / 1000).toFixed(3);
    return String(v);
  };
  const head = COLUMNS.map((c) => c.replace(/Us$/, 'Ms')).join('\t');
  return `${head}\n${rows.map((r) => COLUMNS.map((c) => cell(c, r)).join('\t')).join('\n')}\n`;
}
