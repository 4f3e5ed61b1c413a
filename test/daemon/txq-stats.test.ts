import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyTxqStats, parseTxqStats, txqDeparted, TxqStatsError } from '../../src/daemon/txq-stats.js';

const HEADER = 'tid ac backlog-bytes backlog-packets new-flows drops marks overlimit collisions tx-bytes tx-packets flags';

describe('parseTxqStats (a station aqm file of mac80211 debugfs)', () => {
  it('reads a real file: the station of the Wi-Fi testbed mid-stream (kernel 6.12, hwsim)', () => {
    // captured in UML (testbed/wifi/scenarios/queue.sh, aqm-end.txt): UDP into a 4 Mbit/s medium
    const s = parseTxqStats(readFileSync(join(import.meta.dirname, 'fixtures/aqm-6.12-hwsim.txt'), 'utf8'));
    expect(s).toMatchObject({ backlogBytes: 309944, backlogPackets: 212, drops: 524, overlimit: 0, txBytes: 1680074, txPackets: 1151, tids: 16 });
    expect(s.txBytesByTid[0]).toBe(1680074);
    expect(s.txBytesByTid[15]).toBe(0);
  });

  it.each([
    ['sums over TIDs', `${HEADER}\n0 2 100 1 0 1 0 2 0 1000 10 0x0(RUN)\n6 0 50 1 0 0 0 0 0 500 5 0x0(RUN)\n`, { backlogBytes: 150, backlogPackets: 2, drops: 1, overlimit: 2, txBytes: 1500, txPackets: 15, tids: 2 }],
    ['columns found by name (a kernel that moves them)', `tid tx-packets tx-bytes backlog-packets backlog-bytes overlimit drops ac\n3 7 700 2 200 0 4 2\n`, { backlogBytes: 200, backlogPackets: 2, drops: 4, txBytes: 700, txPackets: 7, tids: 1 }],
    ['lines before the header are skipped', `target 19999us\n${HEADER}\n1 3 0 0 0 0 0 0 0 9 1 0x0(RUN)\n`, { txBytes: 9, txPackets: 1, tids: 1 }],
    ['a station with no TXQ line', `${HEADER}\n`, { backlogBytes: 0, txBytes: 0, tids: 0 }],
  ])('%s', (_name, text, expected) => {
    expect(parseTxqStats(text)).toMatchObject(expected);
  });

  it.each([
    ['no header', '0 2 100 1 0 1 0 2 0 1000 10 0x0\n', /no "tid \.\.\." header/],
    ['a column missing', 'tid ac backlog-bytes backlog-packets drops overlimit tx-bytes\n0 2 1 1 0 0 5\n', /no "tx-packets" column/],
    ['a count that is not one', `${HEADER}\n0 2 x 1 0 1 0 2 0 1000 10 0x0\n`, /line 2: "backlog-bytes" is not a count/],
    ['a short line', `${HEADER}\n0 2 100\n`, /line 2: "backlog-packets" is not a count/],
    ['a TID beyond 15', `${HEADER}\n16 2 0 0 0 0 0 0 0 0 0 0x0\n`, /tid 16 is not 0-15/],
  ])('rejects %s with TxqStatsError', (_name, text, msg) => {
    expect(() => parseTxqStats(text)).toThrow(TxqStatsError);
    expect(() => parseTxqStats(text)).toThrow(msg);
  });

  it('any text either parses or throws TxqStatsError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.boolean(), (tail, withHeader) => {
        const text = withHeader ? `${HEADER}\n${tail}` : tail;
        try {
          const s = parseTxqStats(text);
          expect(s.backlogBytes).toBeGreaterThanOrEqual(0);
        } catch (e) {
          expect(e).toBeInstanceOf(TxqStatsError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('txqDeparted', () => {
  const at = (tid: number, bytes: number, packets: number) => {
    const s = emptyTxqStats();
    s.txBytesByTid[tid] = bytes;
    s.txPacketsByTid[tid] = packets;
    return s;
  };

  it.each([
    ['a plain difference', at(0, 1000, 10), at(0, 4000, 12), { bytes: 3000, packets: 2 }],
    ['nothing left', at(0, 1000, 10), at(0, 1000, 10), { bytes: 0, packets: 0 }],
    ['a u32 counter that wrapped', at(0, 2 ** 32 - 100, 2 ** 32 - 1), at(0, 1400, 1), { bytes: 1500, packets: 2 }],
  ])('%s', (_name, prev, cur, expected) => {
    expect(txqDeparted(prev, cur)).toEqual(expected);
  });

  it('sums every TID', () => {
    const prev = emptyTxqStats();
    const cur = emptyTxqStats();
    cur.txBytesByTid[0] = 100;
    cur.txPacketsByTid[0] = 1;
    cur.txBytesByTid[6] = 200;
    cur.txPacketsByTid[6] = 2;
    expect(txqDeparted(prev, cur)).toEqual({ bytes: 300, packets: 3 });
  });
});
