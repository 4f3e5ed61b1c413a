/**
 * NFQUEUE interceptor: the TypeScript face of zhuge's own N-API binding (native/nfqueue).
 *
 * The addon binds one queue with NFQA_CFG_F_FAIL_OPEN (the kernel accepts packets when our queue
 * or socket buffer is full) and F_GSO, a kernel queue max length (default 4096), copy mode
 * "packet" with a copy range, a forced receive buffer, and polls the netlink fd from libuv: each
 * wakeup drains the socket and delivers ONE batch. Verdicts are buffered and sent as many netlink
 * messages in one sendmsg at the end of every batch delivery, on flush() and on close().
 *
 * close() fails open: packets still held (no verdict yet) are accepted with one
 * NFQNL_MSG_VERDICT_BATCH up to the last id received before the queue is unbound (unbinding alone
 * would make the kernel drop them). Pass releaseOnClose: false to let them be dropped.
 *
 * Build: `npx node-gyp rebuild --directory native/nfqueue`.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAP_NET_ADMIN, missingCaps, ownEffectiveCaps } from './capabilities.js';

export interface NfqPacket {
  readonly id: number;
  /** raw IP packet (network header first), a view into a Buffer owned by JS */
  readonly payload: Buffer;
  readonly hwProtocol: number;
  readonly hook: number;
  readonly indev: number;
  readonly outdev: number;
  readonly mark: number;
  /** kernel receive timestamp (NFQA_TIMESTAMP), wall clock µs; undefined when absent */
  readonly tsUs: number | undefined;
  /** the sender's 6-byte link-layer address (NFQA_HWADDR) as a number; 0 when the kernel gave none */
  readonly hwAddr: number;
}

export interface NfQueueOptions {
  queueNum: number;
  /** kernel queue max length (NFQA_CFG_QUEUE_MAXLEN), default 4096 */
  maxLen?: number;
  /** NFQA_CFG_F_FAIL_OPEN, default true */
  failOpen?: boolean;
  /** copy range, default 65535 (whole packets) */
  copyBytes?: number;
  /** socket receive buffer (SO_RCVBUFFORCE), default 8 MiB */
  rcvBufBytes?: number;
  /**
   * bind the queue in this network namespace (a name under /var/run/netns or a path) instead of
   * the process's own: the netlink socket is created there, everything else runs here. Used by
   * tests and benches that keep the rules in a forwarding netns.
   */
  netns?: string;
  /**
   * turn on the kernel's receive timestamping (SO_TIMESTAMP on our socket) so forwarded packets
   * carry NFQA_TIMESTAMP (tsUs); default true. Without it tsUs is present only when something
   * else (a pcap tap) enabled timestamping.
   */
  kernelTimestamps?: boolean;
  /** close() accepts the packets still held (default true) instead of letting the kernel drop them */
  releaseOnClose?: boolean;
}

export interface NfQueueStats {
  receivedPackets: number;
  verdicts: number;
  enobufs: number;
  /** batches delivered to JS, sendmsg calls for verdicts, error acks from the kernel */
  batches?: number;
  sendmsgs?: number;
  verdictErrors?: number;
  /** failed sendmsg of verdicts (kept and sent with the next ones), failed reads, datagrams cut */
  sendErrors?: number;
  recvErrors?: number;
  truncated?: number;
  /** verdicts dropped after failed sends (beyond 1 MiB unsent): packets held until close() */
  verdictsLost?: number;
  /** verdicts buffered, not yet sent */
  pendingVerdicts?: number;
  /** the socket is no longer polled (re-arming it failed): nothing more will be read */
  pollStopped?: boolean;
  /** errno of the last failed send / read (0: none) */
  lastSendErrno?: number;
  lastRecvErrno?: number;
  /** from /proc/net/netfilter/nfnetlink_queue for this queue: */
  kernelQueueDropped?: number;
  kernelUserDropped?: number;
  kernelQueueTotal?: number;
  /** the last packet id the kernel gave this queue (id_sequence: packets queued to it since it was bound) */
  kernelIdSequence?: number;
}

interface NativeStats {
  receivedPackets: number;
  verdicts: number;
  enobufs: number;
  batches: number;
  sendmsgs: number;
  verdictErrors: number;
  sendErrors: number;
  recvErrors: number;
  truncated: number;
  verdictsLost: number;
  pendingVerdicts: number;
  pollStopped: boolean;
  lastSendErrno: number;
  lastRecvErrno: number;
}

interface NativeHandle {
  accept(id: number, payload?: Uint8Array): void;
  drop(id: number): void;
  flush(): void;
  stats(): NativeStats;
  close(): void;
}

interface NativeOptions {
  queueNum: number;
  maxLen: number;
  failOpen: boolean;
  copyBytes: number;
  rcvBufBytes: number;
  kernelTimestamps: boolean;
  releaseOnClose: boolean;
  netns?: string;
}

interface NativeModule {
  NfQueueHandle: new (opts: NativeOptions, onBatch: (meta: Float64Array, data: Buffer) => void) => NativeHandle;
  META_FIELDS: number;
  readFileInNetns(ns: string, path: string): string;
}

const ADDON_REL = join('native', 'nfqueue', 'build', 'Release', 'zhuge_nfqueue.node');

/** Walks up from this file to the directory whose package.json is named 'zhuge'. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(pj, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'zhuge') return dir;
      } catch {
        // not ours, keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('zhuge package root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function addonPath(): string {
  return join(packageRoot(), ADDON_REL);
}

let cached: NativeModule | undefined;
function loadNative(): NativeModule {
  if (cached !== undefined) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(`NFQUEUE addon not built (${path}); run: npx node-gyp rebuild --directory native/nfqueue`);
  }
  const req = createRequire(import.meta.url);
  cached = req(path) as NativeModule;
  return cached;
}

/** Whether NfQueue.open() can work here: the addon is built and we hold CAP_NET_ADMIN (or are root). */
export function nfqueueAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    loadNative();
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  if (process.platform !== 'linux') return { ok: false, reason: 'NFQUEUE needs Linux' };
  // root, or CAP_NET_ADMIN in the effective set (an unprivileged user the supervisor gave it)
  if (process.getuid?.() !== 0 && missingCaps(ownEffectiveCaps(), [['CAP_NET_ADMIN', CAP_NET_ADMIN]]).length > 0) {
    return { ok: false, reason: 'NFQUEUE needs root or CAP_NET_ADMIN' };
  }
  return { ok: true };
}

export interface KernelQueueRow {
  queueNum: number;
  portId: number;
  queueTotal: number;
  copyMode: number;
  copyRange: number;
  queueDropped: number;
  userDropped: number;
  idSequence: number;
}

/** Parses /proc/net/netfilter/nfnetlink_queue (one line per bound queue of this netns). */
export function parseKernelQueueStats(text: string): KernelQueueRow[] {
  const rows: KernelQueueRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) continue;
    const [queueNum, portId, queueTotal, copyMode, copyRange, queueDropped, userDropped, idSequence] = f as [
      number, number, number, number, number, number, number, number,
    ];
    rows.push({ queueNum, portId, queueTotal, copyMode, copyRange, queueDropped, userDropped, idSequence });
  }
  return rows;
}

const PROC_NFQ = '/proc/net/netfilter/nfnetlink_queue';

/** The kernel's counters for one queue, read in `netns` when given (the file is per netns). */
export function readKernelQueueStats(queueNum: number, netns?: string): KernelQueueRow | undefined {
  let text: string;
  try {
    text = netns === undefined ? readFileSync(PROC_NFQ, 'utf8') : loadNative().readFileInNetns(netns, PROC_NFQ);
  } catch {
    return undefined;
  }
  return parseKernelQueueStats(text).find((r) => r.queueNum === queueNum);
}

export class NfQueue {
  private closed = false;

  private constructor(
    private readonly handle: NativeHandle,
    readonly queueNum: number,
    readonly netns: string | undefined,
  ) {}

  /** Binds the queue; throws (errno text) when the addon is missing, not root or the queue is taken. */
  static open(opts: NfQueueOptions, onBatch: (packets: NfqPacket[]) => void): NfQueue {
    const native = loadNative();
    const F = native.META_FIELDS;
    const nopts: NativeOptions = {
      queueNum: opts.queueNum,
      maxLen: opts.maxLen ?? 4096,
      failOpen: opts.failOpen ?? true,
      copyBytes: opts.copyBytes ?? 0xffff,
      rcvBufBytes: opts.rcvBufBytes ?? 8 * 1024 * 1024,
      kernelTimestamps: opts.kernelTimestamps ?? true,
      releaseOnClose: opts.releaseOnClose ?? true,
    };
    if (opts.netns !== undefined) nopts.netns = opts.netns;
    const handle = new native.NfQueueHandle(
      nopts,
      (meta, data) => {
        const n = meta.length / F;
        const packets: NfqPacket[] = new Array<NfqPacket>(n);
        for (let i = 0; i < n; i++) {
          const b = i * F;
          const ts = meta[b + 6] as number;
          const off = meta[b + 7] as number;
          packets[i] = {
            id: meta[b] as number,
            hwProtocol: meta[b + 1] as number,
            hook: meta[b + 2] as number,
            indev: meta[b + 3] as number,
            outdev: meta[b + 4] as number,
            mark: meta[b + 5] as number,
            tsUs: Number.isNaN(ts) ? undefined : ts,
            // older builds of the addon have no field 10
            hwAddr: F > 10 ? ((meta[b + 10] as number | undefined) ?? 0) : 0,
            payload: data.subarray(off, off + (meta[b + 8] as number)),
          };
        }
        onBatch(packets);
      },
    );
    return new NfQueue(handle, opts.queueNum, opts.netns);
  }

  /** Queues an ACCEPT verdict, optionally replacing the packet (lengths/checksums are the caller's job). */
  accept(id: number, payload?: Uint8Array): void {
    if (payload === undefined) this.handle.accept(id);
    else this.handle.accept(id, payload);
  }

  drop(id: number): void {
    this.handle.drop(id);
  }

  /** Sends the buffered verdicts now (they are also sent after every batch and on close). */
  flush(): void {
    this.handle.flush();
  }

  stats(): NfQueueStats {
    const s = this.handle.stats();
    const out: NfQueueStats = {
      receivedPackets: s.receivedPackets,
      verdicts: s.verdicts,
      enobufs: s.enobufs,
      batches: s.batches,
      sendmsgs: s.sendmsgs,
      verdictErrors: s.verdictErrors,
      sendErrors: s.sendErrors,
      recvErrors: s.recvErrors,
      truncated: s.truncated,
      verdictsLost: s.verdictsLost,
      pendingVerdicts: s.pendingVerdicts,
      pollStopped: s.pollStopped,
      lastSendErrno: s.lastSendErrno,
      lastRecvErrno: s.lastRecvErrno,
    };
    if (!this.closed) {
      const k = readKernelQueueStats(this.queueNum, this.netns);
      if (k !== undefined) {
        out.kernelQueueDropped = k.queueDropped;
        out.kernelUserDropped = k.userDropped;
        out.kernelQueueTotal = k.queueTotal;
        out.kernelIdSequence = k.idSequence;
      }
    }
    return out;
  }

  /** Flushes verdicts, accepts held packets (releaseOnClose), unbinds, stops polling, closes the fd. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }
}
