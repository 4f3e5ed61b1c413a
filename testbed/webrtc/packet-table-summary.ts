/**
 * What one reported series of a per-packet table (packet-table.ts) tells the sender, against what
 * really happened: for zhuge's, the client's and the sender's series of one call.
 *
 *  - error: reported time - the packet's real arrival at the client (after aligning clocks);
 *  - backwards: a received packet reported earlier than the previous received one (in sequence
 *    order), the negative inter-arrival deltas a GCC receiver-side filter sees; the largest
 *    backward step and the largest forward jump beyond the send spacing;
 *  - reported received although the Wi-Fi queue dropped it (arrived at the AP, never left it) and
 *    reported lost although it arrived.
 * Pure.
 */
import { quantile } from '../stats.js';
import type { PacketRow } from './packet-table.js';

export type Series = 'zhuge' | 'client' | 'sender';

export interface SeriesSummary {
  reported: number;
  reportedLost: number;
  /** |reported - client arrival| quantiles (ms) over packets both reported and arrived */
  absErrorP50Ms: number | null;
  absErrorP90Ms: number | null;
  absErrorP99Ms: number | null;
  /** mean of (reported - client arrival), ms: positive = reported late */
  meanErrorMs: number | null;
  backwards: number;
  largestBackwardMs: number;
  /** the largest reported inter-arrival minus the AP inter-arrival of the same pair (ms) */
  largestForwardJumpMs: number;
  /** arrived at the AP, never departed, reported received */
  droppedReportedReceived: number;
  /** arrived at the client, reported lost */
  arrivedReportedLost: number;
}

export interface TableSummary {
  packets: number;
  /** arrived at the AP and never left the Wi-Fi queue */
  queueDrops: number;
  /** departure - AP arrival, ms */
  sojournP50Ms: number | null;
  sojournP99Ms: number | null;
  series: Record<Series, SeriesSummary>;
}

function pick(r: PacketRow, s: Series): { tUs: number | null; lost: boolean } {
  switch (s) {
    case 'zhuge':
      return { tUs: r.zhugeReportedUs, lost: r.zhugeLost };
    case 'client':
      return { tUs: r.clientReportedUs, lost: r.clientLost };
    case 'sender':
      return { tUs: r.senderReportedUs, lost: r.senderLost };
  }
}

const ms = (us: number): number => Math.round(us) / 1000;

function q(xs: number[], p: number): number | null {
  return xs.length === 0 ? null : ms(quantile(xs, p));
}

export function summarizeSeries(rows: readonly PacketRow[], s: Series): SeriesSummary {
  const absErr: number[] = [];
  let errSum = 0;
  let reported = 0;
  let reportedLost = 0;
  let backwards = 0;
  let largestBackwardUs = 0;
  let largestForwardUs = 0;
  let dropped = 0;
  let arrivedLost = 0;
  let prev: { tUs: number; apUs: number | null } | undefined;
  for (const r of rows) {
    const x = pick(r, s);
    if (x.lost) {
      reportedLost++;
      if (r.clientArrivalUs !== null) arrivedLost++;
      continue;
    }
    if (x.tUs === null) continue;
    reported++;
    if (r.apArrivalUs !== null && r.departureUs === null && r.clientArrivalUs === null) dropped++;
    if (r.clientArrivalUs !== null) {
      const e = x.tUs - r.clientArrivalUs;
      absErr.push(Math.abs(e));
      errSum += e;
    }
    if (prev !== undefined) {
      const d = x.tUs - prev.tUs;
      if (d < 0) {
        backwards++;
        largestBackwardUs = Math.max(largestBackwardUs, -d);
      } else if (prev.apUs !== null && r.apArrivalUs !== null) {
        largestForwardUs = Math.max(largestForwardUs, d - (r.apArrivalUs - prev.apUs));
      }
    }
    prev = { tUs: x.tUs, apUs: r.apArrivalUs };
  }
  return {
    reported,
    reportedLost,
    absErrorP50Ms: q(absErr, 0.5),
    absErrorP90Ms: q(absErr, 0.9),
    absErrorP99Ms: q(absErr, 0.99),
    meanErrorMs: absErr.length === 0 ? null : ms(errSum / absErr.length),
    backwards,
    largestBackwardMs: ms(largestBackwardUs),
    largestForwardJumpMs: ms(largestForwardUs),
    droppedReportedReceived: dropped,
    arrivedReportedLost: arrivedLost,
  };
}

export function summarizeTable(rows: readonly PacketRow[]): TableSummary {
  const sojourn: number[] = [];
  let queueDrops = 0;
  for (const r of rows) {
    if (r.apArrivalUs === null) continue;
    if (r.departureUs !== null) sojourn.push(r.departureUs - r.apArrivalUs);
    else if (r.clientArrivalUs === null) queueDrops++;
  }
  return {
    packets: rows.length,
    queueDrops,
    sojournP50Ms: q(sojourn, 0.5),
    sojournP99Ms: q(sojourn, 0.99),
    series: { zhuge: summarizeSeries(rows, 'zhuge'), client: summarizeSeries(rows, 'client'), sender: summarizeSeries(rows, 'sender') },
  };
}
