/**
 * The captures behind a call's per-packet table (packet-table.ts), and the files it leaves:
 *
 *   <dir>/ap-eth.pcap     ap namespace, Ethernet side, both directions (RTP in, feedback out)
 *   <dir>/ap-wlan.pcap    ap namespace, Wi-Fi side, outbound (departures)
 *   <dir>/client.pcap     cli namespace, both directions (arrivals, the client's own feedback)
 *   <dir>/packets.tsv     one row per transport-wide sequence number (ms from the first arrival)
 *   <dir>/summary.json    summarizeTable + the clock offsets used
 *
 * Only UDP is captured, 2048 bytes of each packet (a TWCC packet is whole; an RTP packet's
 * headers and extensions are).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCapture, type Capture } from '../capture.js';
import type { Testbed } from '../topology.js';
import { buildPacketTable, packetTableTsv, type PacketTable } from './packet-table.js';
import { summarizeTable, type TableSummary } from './packet-table-summary.js';

const SNAP_BYTES = 2048;
const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

export interface EvidenceCaptures {
  /** stops the captures and waits until their files are written */
  stop(): Promise<void>;
}

export async function startEvidenceCaptures(tb: Testbed, dir: string): Promise<EvidenceCaptures> {
  const caps: Capture[] = [];
  try {
    caps.push(await startCapture(tb, tb.ifaces.apEth, 'any', join(dir, 'ap-eth.pcap'), 'udp', { snapBytes: SNAP_BYTES }));
    caps.push(await startCapture(tb, tb.ifaces.apWlan, 'outbound', join(dir, 'ap-wlan.pcap'), 'udp', { snapBytes: SNAP_BYTES }));
    caps.push(await startCapture(tb, tb.ifaces.cli, 'any', join(dir, 'client.pcap'), 'udp', { role: 'cli', snapBytes: SNAP_BYTES }));
  } catch (e) {
    for (const c of caps) c.child.kill('SIGTERM');
    throw e;
  }
  return {
    async stop(): Promise<void> {
      for (const c of caps) c.child.kill('SIGTERM');
      await Promise.all(caps.map((c) => c.done));
    },
  };
}

/** The transport-wide sequence number's extension id negotiated in an SDP, or -1. */
export function twccExtIdFromSdp(sdp: string): number {
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (m !== null && m[2] === TWCC_URI) return Number(m[1]);
  }
  return -1;
}

export interface Evidence {
  table: PacketTable;
  summary: TableSummary;
  t0Us: number;
}

/** Builds the table from the captures in `dir` and writes packets.tsv and summary.json there. */
export function writeEvidence(dir: string, sdp: string, zhugeOffsetUs?: number): Evidence {
  const twccExtId = twccExtIdFromSdp(sdp);
  if (twccExtId < 0) throw new Error('evidence: the SDP negotiated no transport-wide sequence number');
  const table = buildPacketTable({
    apEth: readFileSync(join(dir, 'ap-eth.pcap')),
    apWlan: readFileSync(join(dir, 'ap-wlan.pcap')),
    client: readFileSync(join(dir, 'client.pcap')),
    twccExtId,
    ...(zhugeOffsetUs !== undefined ? { zhugeOffsetUs } : {}),
  });
  const t0Us = table.rows.find((r) => r.apArrivalUs !== null)?.apArrivalUs ?? 0;
  const summary = summarizeTable(table.rows);
  writeFileSync(join(dir, 'packets.tsv'), packetTableTsv(table.rows, t0Us));
  writeFileSync(
    join(dir, 'summary.json'),
    `${JSON.stringify({ t0Us, zhugeOffsetUs: table.zhugeOffsetUs, zhugeOffsetFrom: table.zhugeOffsetFrom, clientOffsetUs: table.clientOffsetUs, feedbackPackets: table.feedbackPackets, ...summary }, null, 1)}\n`,
  );
  return { table, summary, t0Us };
}
