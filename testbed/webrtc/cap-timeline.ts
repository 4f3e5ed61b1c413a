/**
 * The REMB cap of one evidence call (evidence-run.ts) against what the sender did and what the
 * link served, in fixed bins of capture time (every capture of a call shares one clock):
 *
 *   node dist/testbed/webrtc/cap-timeline.js DIR [BIN_MS=500]
 *
 * Per bin: the media rate arriving at the AP from the sender (ap-eth, inbound UDP to the client),
 * the rate the Wi-Fi queue served to the client (ap-wlan, outbound), the longest AP sojourn of the
 * call's packets that arrived in the bin (packets.tsv), and the cap in force at the bin's end (the
 * last REMB zhuge sent, from ap-eth outbound; "-" none, "lift" the no-limit value). It shows
 * whether, after a lift, the sender comes back to the rate the link serves, and how fast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newPacketView, type PacketView } from '../../src/protocols/packet.js';
import { decodedCapture } from '../decoded-capture.js';
import { RtcpCompoundCursor } from '../../src/protocols/rtcp/compound.js';
import { newRembView, readRemb, REMB_UNLIMITED_BPS } from '../../src/protocols/rtcp/remb.js';
import { parseTsv } from './call-timeline.js';

export interface CapBin {
  tMs: number;
  sentMbps: number;
  servedMbps: number;
  sojournMaxMs: number;
  /** bit/s; +Infinity: lifted; NaN: none sent yet */
  capBps: number;
}

interface Rec {
  tMs: number;
  bytes: number;
}

/** UDP datagrams to (`toClient`) or from the client in a capture: time (ms, capture clock) and IP bytes; REMB values seen from the client side. */
function udpOf(buf: Uint8Array, clientAddr: string | undefined): { toClient: Rec[]; rembs: Array<{ tMs: number; bps: number }>; client: string } {
  // addresses compared as their four words (the IPv4 or IPv6 address as the packet view holds it)
  const dstOf = (v: PacketView): string => `${v.dst0}:${v.dst1}:${v.dst2}:${v.dst3}`;
  const srcOf = (v: PacketView): string => `${v.src0}:${v.src1}:${v.src2}:${v.src3}`;
  const v = newPacketView();
  const cur = new RtcpCompoundCursor();
  const remb = newRembView();
  const toClient: Rec[] = [];
  const rembs: Array<{ tMs: number; bps: number }> = [];
  let client = clientAddr ?? '';
  for (const r of decodedCapture(buf, v)) {
    if (v.l4 !== 'udp') continue;
    const tMs = r.tUs / 1000;
    // the call's media comes from the sender's port to the client: the first RTP-versioned datagram names the client
    const first = r.data[v.payloadOffset] ?? 0;
    if (client === '' && first >> 6 === 2 && (r.data[v.payloadOffset + 1] ?? 0) < 192) client = dstOf(v);
    if (dstOf(v) === client) toClient.push({ tMs, bytes: v.ipTotalLength });
    else if (srcOf(v) === client && first >> 6 === 2) {
      try {
        cur.reset(r.data, v.payloadOffset, v.payloadOffset + v.capturedPayloadLength);
        while (cur.next()) {
          if (cur.view.kind !== 'remb') continue;
          readRemb(r.data, cur.view, remb);
          rembs.push({ tMs, bps: remb.bitrateBps >= REMB_UNLIMITED_BPS / 2 ? Number.POSITIVE_INFINITY : remb.bitrateBps });
        }
      } catch {
        // not RTCP (RTP from the client, STUN): nothing to read
      }
    }
  }
  return { toClient, rembs, client };
}

export function capTimeline(dir: string, binMs = 500): CapBin[] {
  const eth = udpOf(readFileSync(join(dir, 'ap-eth.pcap')), undefined);
  const wlan = udpOf(readFileSync(join(dir, 'ap-wlan.pcap')), eth.client);
  const rows = parseTsv(readFileSync(join(dir, 'packets.tsv'), 'utf8'));
  const t0 = eth.toClient[0]?.tMs ?? 0;
  const endMs = Math.max(...eth.toClient.map((r) => r.tMs)) - t0;
  const n = Math.ceil(endMs / binMs);
  const bins: CapBin[] = Array.from({ length: n }, (_, i) => ({ tMs: i * binMs, sentMbps: 0, servedMbps: 0, sojournMaxMs: 0, capBps: Number.NaN }));
  const add = (recs: Rec[], key: 'sentMbps' | 'servedMbps'): void => {
    for (const r of recs) {
      const b = bins[Math.floor((r.tMs - t0) / binMs)];
      if (b !== undefined) b[key] += (r.bytes * 8) / (binMs * 1000);
    }
  };
  add(eth.toClient, 'sentMbps');
  add(wlan.toClient, 'servedMbps');
  // packets.tsv times are ms from the table's first AP arrival, which is the call's first media datagram
  for (const row of rows) {
    const a = Number(row['apArrivalMs']);
    const d = Number(row['departureMs']);
    if (!Number.isFinite(a) || !Number.isFinite(d) || row['departureMs'] === '') continue;
    const b = bins[Math.floor(a / binMs)];
    if (b !== undefined) b.sojournMaxMs = Math.max(b.sojournMaxMs, d - a);
  }
  let k = 0;
  let cap = Number.NaN;
  for (const b of bins) {
    while (k < eth.rembs.length && (eth.rembs[k]?.tMs ?? 0) - t0 < b.tMs + binMs) cap = eth.rembs[k++]?.bps ?? cap;
    b.capBps = cap;
  }
  return bins;
}

if (process.argv[1]?.endsWith('cap-timeline.js') === true) {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: cap-timeline DIR [BIN_MS]');
  const bins = capTimeline(dir, Number(process.argv[3] ?? 500));
  const f = (x: number): string => x.toFixed(2).padStart(6);
  console.log('   t s   sent  served  sojourn ms   cap Mbit/s');
  for (const b of bins) console.log(`${(b.tMs / 1000).toFixed(1).padStart(6)} ${f(b.sentMbps)} ${f(b.servedMbps)} ${String(Math.round(b.sojournMaxMs)).padStart(10)}   ${Number.isNaN(b.capBps) ? '-' : b.capBps === Number.POSITIVE_INFINITY ? 'lift' : (b.capBps / 1e6).toFixed(3)}`);
}
