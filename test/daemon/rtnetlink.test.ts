import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildHtbClassOptions,
  decodeTcStats,
  formatTcHandle,
  iterAttrs,
  parseHtbClassOptions,
  parsePsched,
  parseTcHandle,
  qdiscQueueProblem,
  xmitTimeTicks,
  TCA_HTB_CEIL64,
  TCA_HTB_PARMS,
  TCA_HTB_RATE64,
  type QdiscStats,
} from '../../src/daemon/rtnetlink.js';

// /proc/net/psched of a high-resolution-timer kernel (this machine): 1 tick = 64 ns
const PSCHED_HRES = parsePsched('000003e8 00000040 000f4240 3b9aca00\n');

describe('parsePsched (iproute2 tc_core_init / get_hz)', () => {
  it.each([
    ['000003e8 00000040 000f4240 3b9aca00', 15.625, 1e9],
    ['000003e8 00000040 3b9aca00 3b9aca00', 1000, 100],
    ['00000001 00000001 000f4240 00000064', 1, 100],
  ])('%s → tickInUsec %d, hz %d', (text, tick, hz) => {
    expect(parsePsched(text)).toEqual({ tickInUsec: tick, hz });
  });
  it.each(['', 'zz', '0 0 0 0'])('rejects %j', (t) => {
    expect(() => parsePsched(t)).toThrow(/psched/);
  });
});

describe('buildHtbClassOptions', () => {
  // buffer ticks as `tc class add ... htb rate R ceil R` sets them on this kernel, read back from
  // the kernel over rtnetlink: 20 Mbit → 10000 ticks, 5 Mbit → 40000 ticks (1600 B burst)
  it.each([
    [20e6, 2_500_000, 10_000],
    [5e6, 625_000, 40_000],
    [8_000, 1_000, 25_000_000],
  ])('rate %d bit/s → %d B/s, buffer %d ticks', (rateBps, bytesPerSec, ticks) => {
    const opts = buildHtbClassOptions({ rateBps }, PSCHED_HRES);
    const v = parseHtbClassOptions(opts);
    expect(v).toEqual({
      rateBytesPerSec: bytesPerSec,
      ceilBytesPerSec: bytesPerSec,
      bufferTicks: ticks,
      cbufferTicks: ticks,
      quantum: 60_000,
      linklayer: 1,
    });
  });

  it('encodes TCA_HTB_PARMS as a 48-byte attribute (golden header, 44-byte tc_htb_opt)', () => {
    const b = buildHtbClassOptions({ rateBps: 20e6 }, PSCHED_HRES);
    expect(b.length).toBe(48);
    expect(b.readUInt16LE(0)).toBe(48);
    expect(b.readUInt16LE(2)).toBe(TCA_HTB_PARMS);
    // rate ratespec: cell_log 0, linklayer ethernet, rate at offset 8 of the spec
    expect([...b.subarray(4, 16)]).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0xa0, 0x25, 0x26, 0x00]);
  });

  it('adds RATE64/CEIL64 above 2^32-1 bytes/s and clamps the 32-bit field', () => {
    const rateBps = 40e9 * 8; // 40 GB/s
    const b = buildHtbClassOptions({ rateBps, ceilBps: rateBps }, PSCHED_HRES);
    const types = [...iterAttrs(b)].map(([t]) => t);
    expect(types).toEqual([TCA_HTB_PARMS, TCA_HTB_RATE64, TCA_HTB_CEIL64]);
    const parms = [...iterAttrs(b)][0]?.[1];
    expect(parms?.readUInt32LE(8)).toBe(0xffffffff);
    expect(parseHtbClassOptions(b)?.rateBytesPerSec).toBe(40e9);
  });

  it('uses explicit bursts and ceil', () => {
    const v = parseHtbClassOptions(
      buildHtbClassOptions({ rateBps: 8e6, ceilBps: 16e6, burstBytes: 10_000, cburstBytes: 20_000 }, PSCHED_HRES),
    );
    expect(v?.ceilBytesPerSec).toBe(2e6);
    expect(v?.bufferTicks).toBe(xmitTimeTicks(1e6, 10_000, PSCHED_HRES));
    expect(v?.bufferTicks).toBe(156_250);
    expect(v?.cbufferTicks).toBe(156_250);
  });
});

describe('decodeTcStats', () => {
  const blank = (): QdiscStats => ({
    ifindex: 1, kind: 'bfifo', handle: 0, parent: 0, bytes: 0, packets: 0, drops: 0,
    overlimits: 0, requeues: 0, qlen: 0, backlogBytes: 0,
  });
  const nla = (type: number, payload: Buffer): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(4 + payload.length, 0);
    h.writeUInt16LE(type, 2);
    const pad = Buffer.alloc((4 - (payload.length % 4)) % 4);
    return Buffer.concat([h, payload, pad]);
  };

  it('reads TCA_STATS2 basic + queue (golden)', () => {
    const basic = Buffer.alloc(16);
    basic.writeBigUInt64LE(123_456_789_012n, 0);
    basic.writeUInt32LE(4242, 8);
    const queue = Buffer.alloc(20);
    [7, 10_598, 3, 1, 99].forEach((v, i) => queue.writeUInt32LE(v, i * 4));
    const s = blank();
    decodeTcStats(Buffer.concat([nla(1, basic), nla(3, queue)]), undefined, s);
    expect(s).toMatchObject({ bytes: 123_456_789_012, packets: 4242, qlen: 7, backlogBytes: 10_598, drops: 3, requeues: 1, overlimits: 99 });
  });

  it('falls back to legacy TCA_STATS', () => {
    const st = Buffer.alloc(40);
    st.writeBigUInt64LE(5000n, 0);
    [10, 2, 4, 0, 0, 3, 4500].forEach((v, i) => st.writeUInt32LE(v, 8 + i * 4));
    const s = blank();
    decodeTcStats(undefined, st, s);
    expect(s).toMatchObject({ bytes: 5000, packets: 10, drops: 2, overlimits: 4, qlen: 3, backlogBytes: 4500 });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 60 }), (a, b) => {
        decodeTcStats(Buffer.from(a), Buffer.from(b), blank());
        parseHtbClassOptions(Buffer.from(a));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('qdiscQueueProblem (can the qdisc backend see the queue?)', () => {
  const ROOT = 0xffffffff;
  it.each([
    { what: 'htb root with a bfifo leaf (the testbed, a shaped Wi-Fi interface)', qs: [{ kind: 'htb', parent: ROOT }, { kind: 'bfifo', parent: 0x10001 }], want: undefined },
    { what: 'pfifo_fast root', qs: [{ kind: 'pfifo_fast', parent: ROOT }], want: undefined },
    { what: 'noqueue root (mac80211 drivers with TXQs, veth by default)', qs: [{ kind: 'noqueue', parent: ROOT }], want: "the interface's qdisc is noqueue" },
    { what: 'no qdisc reported at all', qs: [], want: 'the interface has no qdisc' },
    { what: 'no root marked: the first one counts', qs: [{ kind: 'noqueue', parent: 0 }], want: "the interface's qdisc is noqueue" },
  ])('$what', ({ qs, want }) => {
    expect(qdiscQueueProblem(qs)).toBe(want);
  });
});

describe('tc handles', () => {
  it.each([
    ['1:1', 0x10001],
    ['10:', 0x100000],
    ['ffff:fff1', 0xfffffff1],
    ['root', 0xffffffff],
  ])('%s ↔ %d', (s, h) => {
    expect(parseTcHandle(s)).toBe(h);
    expect(parseTcHandle(formatTcHandle(h))).toBe(h);
  });
  it.each(['1', '1:2:3', 'x:1', '12345:1'])('rejects %s', (s) => {
    expect(() => parseTcHandle(s)).toThrow(RangeError);
  });
});
