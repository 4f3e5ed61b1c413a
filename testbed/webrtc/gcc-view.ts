/**
 * GCC's view of a call's per-packet table (packet-table.ts): the offline goog_cc replay
 * (testbed/gcc) over each reported series of the same packets — what the sender received, what the
 * client itself reported — so one call shows what GCC made of zhuge's reports and what it would
 * have made of the client's. Send times are the AP arrivals (the path before the AP has a fixed
 * delay and no queue: differences are the same).
 *
 *   node dist/testbed/webrtc/gcc-view.js DIR/packets.tsv[.gz] [--after-ms MS]
 *
 * --after-ms: the event (a drop) in the table's time (ms from the first AP arrival); the first
 * overuse after it and the acknowledged bitrate 0.2 / 0.5 / 1 / 2 s after it are printed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { replayGcc, type GccPacket, type ReplayGccResult } from '../gcc/replay-gcc.js';

export type ReportedColumn = 'senderReportedMs' | 'clientReportedMs' | 'zhugeReportedMs';

/** One reported series of a packets.tsv, as the GCC replay takes it. */
export function seriesFromTsv(tsv: string, column: ReportedColumn): GccPacket[] {
  const lines = tsv.trimEnd().split('\n');
  const head = (lines[0] ?? '').split('\t');
  const col = (name: string): number => head.indexOf(name);
  const iSeq = col('seq');
  const iSize = col('sizeBytes');
  const iArr = col('apArrivalMs');
  const iRep = col(column);
  const iLost = col(column.replace('ReportedMs', 'Lost'));
  const out: GccPacket[] = [];
  for (const line of lines.slice(1)) {
    const c = line.split('\t');
    const arr = c[iArr] ?? '';
    const rep = c[iRep] ?? '';
    const lost = c[iLost] === '1';
    if (arr === '' || (rep === '' && !lost)) continue;
    out.push({ seq: Number(c[iSeq]), sendTimeMs: Number(arr), sizeBytes: Number(c[iSize]), arrivalTimeMs: lost ? null : Number(rep) });
  }
  return out;
}

export interface GccViewSummary {
  packets: number;
  firstOveruseMs: number | null;
  negativeArrivalDeltas: number;
  reorderResets: number;
  overuseSignals: number;
  /** acknowledged bitrate (Mbit/s) at these offsets after `afterMs` */
  ackedMbpsAfter: Record<string, number | null>;
  /** the first decrease after afterMs: when, and to what (Mbit/s) */
  firstDecrease: { tMs: number; toMbps: number } | null;
}

function ackedAt(r: ReplayGccResult, tMs: number): number | null {
  let v: number | null = null;
  for (const a of r.ackedBitrate) {
    if (a.tMs > tMs) break;
    v = Math.round(a.bitrateBps / 1e4) / 100;
  }
  return v;
}

export function gccView(series: readonly GccPacket[], afterMs: number): GccViewSummary {
  const r = replayGcc(series, { overuseAfterMs: afterMs });
  const dec = r.decreases.find((d) => d.tMs >= afterMs);
  return {
    packets: series.length,
    firstOveruseMs: r.firstOveruseMs === null ? null : Math.round(r.firstOveruseMs - afterMs),
    negativeArrivalDeltas: r.counts.negativeArrivalDeltas,
    reorderResets: r.counts.reorderResets,
    overuseSignals: r.counts.overuseSignals,
    ackedMbpsAfter: Object.fromEntries([200, 500, 1000, 2000].map((d) => [`+${d}ms`, ackedAt(r, afterMs + d)])),
    firstDecrease: dec === undefined ? null : { tMs: Math.round(dec.tMs - afterMs), toMbps: Math.round(dec.targetBps / 1e4) / 100 },
  };
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { 'after-ms': { type: 'string', default: '0' } }, allowPositionals: true });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: gcc-view.js packets.tsv[.gz] [--after-ms MS]');
  const raw = readFileSync(file);
  const tsv = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString();
  const afterMs = Number(values['after-ms']);
  const out: Record<string, GccViewSummary> = {};
  for (const c of ['senderReportedMs', 'clientReportedMs'] as const) out[c] = gccView(seriesFromTsv(tsv, c), afterMs);
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

if (process.argv[1]?.endsWith('gcc-view.js') === true) main();
