/**
 * Traffic-control access over rtnetlink (npm `netlink`), without spawning `tc`:
 *  - qdisc statistics (backlog, drops, sent) for one interface — the kernel ignores the ifindex
 *    of a qdisc dump (docs/design-notes.md §2), so the dump is filtered here;
 *  - changing an htb class's rate/ceil (RTM_NEWTCLASS with TCA_OPTIONS → TCA_HTB_PARMS, plus
 *    TCA_HTB_RATE64/CEIL64 above 2^32-1 bytes/s), with buffer/cbuffer computed as iproute2's
 *    q_htb.c does (burst = rate/HZ + mtu bytes, converted to psched ticks from /proc/net/psched).
 *
 * A netlink socket talks to the network namespace it was opened in: a process that must act on
 * another namespace runs under `ip netns exec <ns>` (the trace player does).
 *
 * Wire formats built/parsed here (host byte order, all attributes 4-byte aligned):
 *
 *   struct tc_ratespec (12 B)            struct tc_htb_opt (44 B)
 *   +--------+--------+--------+         +----------------------+ 0
 *   |cell_log|linklayr|overhead|  0      | rate   (tc_ratespec) |
 *   +--------+--------+--------+         +----------------------+ 12
 *   |   cell_align    |  mpu   |  4      | ceil   (tc_ratespec) |
 *   +-----------------+--------+         +----------------------+ 24
 *   |        rate (u32 B/s)    |  8      | buffer  u32 (ticks)  |
 *   +--------------------------+         | cbuffer u32 (ticks)  | 28
 *                                        | quantum u32 (bytes)  | 32
 *   TCA_OPTIONS payload:                 | level   u32          | 36
 *   [len|TCA_HTB_PARMS=1][tc_htb_opt]    | prio    u32          | 40
 *   [len|TCA_HTB_RATE64=6][u64]  (opt.)  +----------------------+ 44
 *   [len|TCA_HTB_CEIL64=7][u64]  (opt.)
 *
 *   TCA_STATS2 payload: nested [len u16|type u16|value] with
 *   TCA_STATS_BASIC=1 {u64 bytes, u32 packets}, TCA_STATS_QUEUE=3 {u32 qlen, backlog, drops,
 *   requeues, overlimits}, TCA_STATS_PKT64=8 {u64 packets}.
 *   TCA_STATS (legacy struct tc_stats): u64 bytes, u32 packets, drops, overlimits, bps, pps,
 *   qlen, backlog.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRtNetlink, type RtNetlinkSocket } from 'netlink';

export const TCA_HTB_PARMS = 1;
export const TCA_HTB_RATE64 = 6;
export const TCA_HTB_CEIL64 = 7;
const TC_LINKLAYER_ETHERNET = 1;
const U32_MAX = 0xffff_ffff;
const TIME_UNITS_PER_SEC = 1_000_000;

/** Kernel packet-scheduler clock parameters (/proc/net/psched). */
export interface PschedParams {
  /** psched ticks per µs (iproute2 `tick_in_usec`) */
  tickInUsec: number;
  /** what iproute2's get_hz() returns (used for the default burst) */
  hz: number;
}

/** Parses /proc/net/psched ("t2us us2t clock_res hz", hex) the way iproute2's tc_core.c/utils.c do. */
export function parsePsched(text: string): PschedParams {
  const parts = text.trim().split(/\s+/).map((h) => Number.parseInt(h, 16));
  const [t2us, us2t, clockRes, hzField] = parts;
  if (
    parts.length < 3 ||
    t2us === undefined ||
    us2t === undefined ||
    clockRes === undefined ||
    !(t2us > 0) ||
    !(us2t > 0) ||
    !(clockRes > 0)
  ) {
    throw new Error(`unrecognised /proc/net/psched: ${JSON.stringify(text)}`);
  }
  // tc_core_init(): with a 1 GHz clock_res the t2us field is ignored (treated as us2t)
  const clockFactor = clockRes / TIME_UNITS_PER_SEC;
  const tickInUsec = ((clockRes === 1_000_000_000 ? us2t : t2us) / us2t) * clockFactor;
  // get_hz(): the 4th field when clock_res == 1e6, else the kernel HZ guess (100)
  const hz = clockRes === 1_000_000 && hzField !== undefined && hzField > 0 ? hzField : 100;
  return { tickInUsec, hz };
}

let pschedCache: PschedParams | undefined;
export function readPsched(): PschedParams {
  pschedCache ??= parsePsched(readFileSync('/proc/net/psched', 'utf8'));
  return pschedCache;
}

/** iproute2 tc_calc_xmittime(): ticks needed to send `sizeBytes` at `rateBytesPerSec`. */
export function xmitTimeTicks(rateBytesPerSec: number, sizeBytes: number, p: PschedParams): number {
  const us = (TIME_UNITS_PER_SEC * sizeBytes) / rateBytesPerSec;
  return Math.min(U32_MAX, Math.floor(us * p.tickInUsec));
}

export interface HtbClassParams {
  rateBps: number;
  /** defaults to rateBps */
  ceilBps?: number;
  /** burst in bytes; default rate/HZ + mtu as tc does */
  burstBytes?: number;
  cburstBytes?: number;
  /** default 1600 (tc's default) */
  mtu?: number;
  /** bytes per DRR round; 0 lets the kernel derive it (and warn when large); default 60000 */
  quantum?: number;
  prio?: number;
}

function writeRatespec(buf: Buffer, off: number, rateBytesPerSec: number): void {
  buf.writeUInt8(0, off); // cell_log (unused with linklayer set)
  buf.writeUInt8(TC_LINKLAYER_ETHERNET, off + 1); // no rate table needed
  buf.writeUInt16LE(0, off + 2); // overhead
  buf.writeInt16LE(0, off + 4); // cell_align
  buf.writeUInt16LE(0, off + 6); // mpu
  buf.writeUInt32LE(Math.min(rateBytesPerSec, U32_MAX), off + 8);
}

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/** Builds the TCA_OPTIONS payload of an htb class (host byte order: little-endian targets). */
export function buildHtbClassOptions(params: HtbClassParams, p: PschedParams = readPsched()): Buffer {
  const rate = Math.max(1, Math.round(params.rateBps / 8));
  const ceil = Math.max(1, Math.round((params.ceilBps ?? params.rateBps) / 8));
  if (!Number.isFinite(rate) || !Number.isFinite(ceil)) throw new RangeError('htb rate must be finite');
  const mtu = params.mtu ?? 1600;
  const buffer = params.burstBytes ?? rate / p.hz + mtu;
  const cbuffer = params.cburstBytes ?? ceil / p.hz + mtu;
  const opt = Buffer.alloc(44);
  writeRatespec(opt, 0, rate);
  writeRatespec(opt, 12, ceil);
  opt.writeUInt32LE(xmitTimeTicks(rate, buffer, p), 24);
  opt.writeUInt32LE(xmitTimeTicks(ceil, cbuffer, p), 28);
  opt.writeUInt32LE(params.quantum ?? 60_000, 32);
  opt.writeUInt32LE(0, 36); // level (kernel-owned)
  opt.writeUInt32LE(params.prio ?? 0, 40);
  const parts = [attr(TCA_HTB_PARMS, opt)];
  if (rate >= U32_MAX) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(rate));
    parts.push(attr(TCA_HTB_RATE64, b));
  }
  if (ceil >= U32_MAX) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(ceil));
    parts.push(attr(TCA_HTB_CEIL64, b));
  }
  return Buffer.concat(parts);
}

export interface HtbParmsView {
  rateBytesPerSec: number;
  ceilBytesPerSec: number;
  bufferTicks: number;
  cbufferTicks: number;
  quantum: number;
  linklayer: number;
}

/** An htb class as read back: its handle, its parent (the qdisc's handle for a top-level class). */
export interface HtbClassView {
  classid: number;
  parent: number;
  parms: HtbParmsView;
}

/** Reads TCA_HTB_PARMS (and RATE64/CEIL64) back from an htb class's TCA_OPTIONS payload. */
export function parseHtbClassOptions(options: Buffer): HtbParmsView | undefined {
  let view: HtbParmsView | undefined;
  let rate64: number | undefined;
  let ceil64: number | undefined;
  for (const [type, v] of iterAttrs(options)) {
    if (type === TCA_HTB_PARMS && v.length >= 44) {
      view = {
        rateBytesPerSec: v.readUInt32LE(8),
        ceilBytesPerSec: v.readUInt32LE(20),
        bufferTicks: v.readUInt32LE(24),
        cbufferTicks: v.readUInt32LE(28),
        quantum: v.readUInt32LE(32),
        linklayer: v.readUInt8(1),
      };
    } else if (type === TCA_HTB_RATE64 && v.length >= 8) rate64 = Number(v.readBigUInt64LE(0));
    else if (type === TCA_HTB_CEIL64 && v.length >= 8) ceil64 = Number(v.readBigUInt64LE(0));
  }
  if (view !== undefined) {
    if (rate64 !== undefined) view.rateBytesPerSec = rate64;
    if (ceil64 !== undefined) view.ceilBytesPerSec = ceil64;
  }
  return view;
}

/** Iterates netlink attributes (type without the NESTED/BYTEORDER flags); stops at a malformed one. */
export function* iterAttrs(buf: Buffer): Generator<[number, Buffer]> {
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > buf.length) return;
    yield [type, buf.subarray(off + 4, off + len)];
    off += (len + 3) & ~3;
  }
}

export interface QdiscStats {
  ifindex: number;
  kind: string;
  handle: number;
  parent: number;
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  qlen: number;
  backlogBytes: number;
}

/** Decodes TCA_STATS2 (preferred) or legacy TCA_STATS into the counters. */
export function decodeTcStats(stats2: Buffer | undefined, stats: Buffer | undefined, into: QdiscStats): void {
  let haveBasic = false;
  let haveQueue = false;
  if (stats2 !== undefined) {
    for (const [type, v] of iterAttrs(stats2)) {
      if (type === 1 && v.length >= 12) {
        into.bytes = Number(v.readBigUInt64LE(0));
        into.packets = v.readUInt32LE(8);
        haveBasic = true;
      } else if (type === 3 && v.length >= 20) {
        into.qlen = v.readUInt32LE(0);
        into.backlogBytes = v.readUInt32LE(4);
        into.drops = v.readUInt32LE(8);
        into.requeues = v.readUInt32LE(12);
        into.overlimits = v.readUInt32LE(16);
        haveQueue = true;
      } else if (type === 8 && v.length >= 8) {
        into.packets = Number(v.readBigUInt64LE(0));
      }
    }
  }
  if (stats !== undefined && stats.length >= 36 && (!haveBasic || !haveQueue)) {
    if (!haveBasic) {
      into.bytes = Number(stats.readBigUInt64LE(0));
      into.packets = stats.readUInt32LE(8);
    }
    if (!haveQueue) {
      into.drops = stats.readUInt32LE(12);
      into.overlimits = stats.readUInt32LE(16);
      into.qlen = stats.readUInt32LE(28);
      into.backlogBytes = stats.readUInt32LE(32);
    }
  }
}

/** The interface's root qdisc among qdiscStats' (parent TC_H_ROOT; else the first one listed). */
export function rootQdisc<T extends Pick<QdiscStats, 'parent'>>(qdiscs: readonly T[]): T | undefined {
  return qdiscs.find((q) => q.parent === U32_MAX) ?? qdiscs[0];
}

/**
 * Whether the qdisc backend can see the interface's queue. It reads the root qdisc's backlog and
 * taps the packets it dequeues; with `noqueue` (mac80211 drivers with TXQs, where packets wait in
 * per-station queues below the qdisc; veth by default) or no qdisc at all there is nothing to see:
 * the tap sees each packet as it is handed down and the predictions stay near 0. Returns why, or
 * undefined when a queueing root qdisc is there.
 */
export function qdiscQueueProblem(qdiscs: readonly Pick<QdiscStats, 'kind' | 'parent'>[]): string | undefined {
  const root = rootQdisc(qdiscs);
  if (root === undefined) return 'the interface has no qdisc';
  if (root.kind === 'noqueue') return "the interface's qdisc is noqueue";
  return undefined;
}

/** "1:1" / "10:" / "root" → 32-bit tc handle. */
export function parseTcHandle(s: string): number {
  if (s === 'root') return U32_MAX;
  const m = /^([0-9a-fA-F]{0,4}):([0-9a-fA-F]{0,4})$/.exec(s);
  if (m === null) throw new RangeError(`bad tc handle '${s}'`);
  const major = m[1] === '' || m[1] === undefined ? 0 : Number.parseInt(m[1], 16);
  const minor = m[2] === '' || m[2] === undefined ? 0 : Number.parseInt(m[2], 16);
  return ((major << 16) | minor) >>> 0;
}

export function formatTcHandle(h: number): string {
  if (h >>> 0 === U32_MAX) return 'root';
  return `${((h >>> 16) & 0xffff).toString(16)}:${(h & 0xffff).toString(16)}`;
}

/** How long one rtnetlink request may take before it is abandoned (ms): a dump answers in well under 1 ms. */
export const RTNETLINK_TIMEOUT_MS = 1000;

/** A request the kernel did not answer within the timeout (the socket was replaced). */
export class RtnetlinkTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`rtnetlink request not answered within ${timeoutMs} ms (socket reopened)`);
    this.name = 'RtnetlinkTimeoutError';
  }
}

/** One rtnetlink socket in the caller's network namespace. */
export class TcNetlink {
  /** the last request queued: one at a time on the socket (see serial) */
  private last: Promise<unknown> = Promise.resolve();
  private sock: RtNetlinkSocket;
  /** requests abandoned after the timeout (each replaced the socket) */
  timeouts = 0;

  /** `openSocket` opens the socket, and again after a timeout (tests pass a fake). */
  constructor(
    private readonly openSocket: () => RtNetlinkSocket = createRtNetlink,
    private readonly timeoutMs = RTNETLINK_TIMEOUT_MS,
  ) {
    this.sock = openSocket();
  }

  /**
   * Runs the socket's requests one after another: the kernel allows one dump at a time per
   * netlink socket and rejects a second with EBUSY (the backlog resync, the drop poll and the
   * shaper-rate read have their own timers and would otherwise overlap). A request not answered
   * within the timeout is abandoned and the socket replaced: its answer may never come, and the
   * requests queued behind it would wait for ever.
   */
  private serial<T>(fn: (sock: RtNetlinkSocket) => Promise<T>): Promise<T> {
    const run = (): Promise<T> => this.bounded(fn(this.sock));
    const p = this.last.then(run, run);
    this.last = p.catch(() => undefined);
    return p;
  }

  private bounded<T>(req: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.timeouts++;
        const old = this.sock;
        this.sock = this.openSocket();
        try {
          old.socket.close();
        } catch {
          // already closed: nothing to release
        }
        reject(new RtnetlinkTimeoutError(this.timeoutMs));
      }, this.timeoutMs);
      req.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  static open(): TcNetlink {
    return new TcNetlink();
  }

  /** ifindex of a device in this namespace. */
  async ifindex(dev: string): Promise<number> {
    const links = await this.serial((sock) => sock.getLinks());
    const l = links.find((x) => x.attrs.ifname === dev);
    if (l === undefined || l.data.index === undefined) throw new Error(`no such device '${dev}'`);
    return l.data.index;
  }

  /** Statistics of every qdisc on `ifindex` (dump filtered in JS). */
  async qdiscStats(ifindex: number): Promise<QdiscStats[]> {
    const msgs = await this.serial((sock) => sock.getQdiscs({ ifindex }));
    const out: QdiscStats[] = [];
    for (const m of msgs) {
      if (m.data.ifindex !== ifindex) continue;
      const s: QdiscStats = {
        ifindex,
        kind: m.attrs.kind ?? '',
        handle: (m.data.handle ?? 0) >>> 0,
        parent: (m.data.parent ?? 0) >>> 0,
        bytes: 0,
        packets: 0,
        drops: 0,
        overlimits: 0,
        requeues: 0,
        qlen: 0,
        backlogBytes: 0,
      };
      decodeTcStats(m.attrs.stats2, m.attrs.stats, s);
      out.push(s);
    }
    return out;
  }

  /** Changes an existing htb class's rate/ceil (one RTM_NEWTCLASS, acknowledged). */
  async setHtbRate(ifindex: number, classid: number, params: HtbClassParams): Promise<void> {
    const parent = (classid & 0xffff0000) >>> 0; // the htb qdisc (major:0) — a top-level class
    await this.serial((sock) =>
      sock.newTrafficClass(
        { ifindex, handle: classid, parent },
        { kind: 'htb', options: buildHtbClassOptions(params) },
      ),
    );
  }

  /** Reads back the htb classes of `ifindex` (rate/ceil in bytes/s). */
  async htbClasses(ifindex: number): Promise<HtbClassView[]> {
    const msgs = await this.serial((sock) => sock.getTrafficClasses({ ifindex }));
    const out: HtbClassView[] = [];
    for (const m of msgs) {
      if (m.data.ifindex !== ifindex || m.attrs.kind !== 'htb' || m.attrs.options === undefined) continue;
      const parms = parseHtbClassOptions(m.attrs.options);
      if (parms !== undefined) out.push({ classid: (m.data.handle ?? 0) >>> 0, parent: (m.data.parent ?? 0) >>> 0, parms });
    }
    return out;
  }

  close(): void {
    this.sock.socket.close();
  }
}

/** Measures the mean cost (µs) of `n` sequential calls of `fn`. */
export async function measureUs(n: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) * 1000) / n;
}
