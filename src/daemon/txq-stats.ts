/**
 * One station's transmit queues as mac80211 shows them in debugfs
 * (`/sys/kernel/debug/ieee80211/<phy>/netdev:<wlan>/stations/<mac>/aqm`), summed over its TIDs:
 * the queue `queue.backend: mac80211` reads. Pure: text in, numbers out.
 *
 * The file (kernel 6.12, net/mac80211/debugfs_sta.c) has a header line and one line per TXQ:
 *
 *   tid ac backlog-bytes backlog-packets new-flows drops marks overlimit collisions tx-bytes tx-packets flags
 *   0 2 1534 1 813 7 0 0 0 2220862 1566 0x6(RUN AMPDU NO-AMSDU)
 *
 * Columns are found by their header names, so a kernel that adds or moves one still parses;
 * a file without the columns this needs is an error (TxqStatsError), never a silent zero.
 * `tx-bytes`/`tx-packets` count what left the TXQ for the driver (fq_tin dequeue): with a driver
 * that holds little (AQL), that is when the packet goes on the air.
 */

export class TxqStatsError extends Error {
  override readonly name = 'TxqStatsError';
}

export interface TxqStats {
  /** bytes / packets waiting in the station's TXQs (all TIDs) */
  backlogBytes: number;
  backlogPackets: number;
  /** packets the TXQs' CoDel dropped, and those dropped over the fq limit (overlimit) */
  drops: number;
  overlimit: number;
  /** bytes / packets dequeued to the driver since the station associated */
  txBytes: number;
  txPackets: number;
  /** per TID (0-15): the kernel's u32 tx counters, for deltas that survive a wrap (txqDeparted) */
  txBytesByTid: Float64Array;
  txPacketsByTid: Float64Array;
  /** TXQ lines read */
  tids: number;
}

/** IEEE80211_NUM_TIDS */
export const TXQ_TIDS = 16;

const NEEDED = ['tid', 'backlog-bytes', 'backlog-packets', 'drops', 'overlimit', 'tx-bytes', 'tx-packets'] as const;

export function emptyTxqStats(): TxqStats {
  return { backlogBytes: 0, backlogPackets: 0, drops: 0, overlimit: 0, txBytes: 0, txPackets: 0, txBytesByTid: new Float64Array(TXQ_TIDS), txPacketsByTid: new Float64Array(TXQ_TIDS), tids: 0 };
}

/** Parses an `aqm` file into `out` (reused: no allocation per poll beyond the split). */
export function parseTxqStats(text: string, out: TxqStats = emptyTxqStats()): TxqStats {
  const lines = text.split('\n');
  let h = 0;
  while (h < lines.length && !(lines[h] ?? '').startsWith('tid ')) h++;
  const header = lines[h];
  if (header === undefined) throw new TxqStatsError('no "tid ..." header line: not a mac80211 station aqm file');
  const cols = header.trim().split(/\s+/);
  const at: Record<(typeof NEEDED)[number], number> = { tid: -1, 'backlog-bytes': -1, 'backlog-packets': -1, drops: -1, overlimit: -1, 'tx-bytes': -1, 'tx-packets': -1 };
  for (const name of NEEDED) {
    at[name] = cols.indexOf(name);
    if (at[name] < 0) throw new TxqStatsError(`aqm header has no "${name}" column: ${header.trim()}`);
  }
  out.backlogBytes = 0;
  out.backlogPackets = 0;
  out.drops = 0;
  out.overlimit = 0;
  out.txBytes = 0;
  out.txPackets = 0;
  out.tids = 0;
  out.txBytesByTid.fill(0);
  out.txPacketsByTid.fill(0);
  for (let i = h + 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const num = (name: (typeof NEEDED)[number]): number => {
      const v = Number(f[at[name]]);
      if (!Number.isFinite(v) || v < 0) throw new TxqStatsError(`aqm line ${i + 1}: "${name}" is not a count: ${line}`);
      return v;
    };
    const tid = num('tid');
    if (tid >= TXQ_TIDS) throw new TxqStatsError(`aqm line ${i + 1}: tid ${tid} is not 0-${TXQ_TIDS - 1}`);
    out.backlogBytes += num('backlog-bytes');
    out.backlogPackets += num('backlog-packets');
    out.drops += num('drops');
    out.overlimit += num('overlimit');
    const txB = num('tx-bytes');
    const txP = num('tx-packets');
    out.txBytes += txB;
    out.txPackets += txP;
    out.txBytesByTid[tid] = txB;
    out.txPacketsByTid[tid] = txP;
    out.tids++;
  }
  return out;
}

const U32 = 2 ** 32;

/**
 * What left a station's TXQs between two readings: per TID, the u32 counters' difference modulo
 * 2^32 (a counter that wrapped still counts right; one that went back, as after a
 * re-association, is taken as a wrap too, so the caller resets on re-association).
 */
export function txqDeparted(prev: TxqStats, cur: TxqStats): { bytes: number; packets: number } {
  let bytes = 0;
  let packets = 0;
  for (let t = 0; t < TXQ_TIDS; t++) {
    const db = (cur.txBytesByTid[t] ?? 0) - (prev.txBytesByTid[t] ?? 0);
    const dp = (cur.txPacketsByTid[t] ?? 0) - (prev.txPacketsByTid[t] ?? 0);
    bytes += db >= 0 ? db : db + U32;
    packets += dp >= 0 ? dp : dp + U32;
  }
  return { bytes, packets };
}
