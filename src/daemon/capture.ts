/**
 * libpcap taps with kernel timestamps (node-pcap, immediate mode: buffer_timeout 0 — the default
 * 1 s buffering delays delivery by up to ~800 ms, docs/design-notes.md §2).
 *
 *   eth tap  : `inbound`  — downlink arrivals at the AP (before the Wi-Fi queue)
 *   wlan tap : `outbound` — downlink departures (an outbound tap sees a packet after the qdisc
 *              dequeued it)
 *
 * The direction qualifiers lose the first packet after opening, so taps are opened before the
 * uplink rules steer traffic. node-pcap reuses one buffer per session: the handler must consume
 * the bytes synchronously. An exception thrown from a handler would be fatal inside the binding
 * (Nan::FatalException), so every delivery is guarded here and counted, never rethrown.
 */
import { createRequire } from 'node:module';

export type TapDirection = 'inbound' | 'outbound' | 'any';

export interface TapOptions {
  device: string;
  direction: TapDirection;
  /** extra BPF expression ANDed with the direction (e.g. 'ip or ip6') */
  filter?: string;
  snapLength?: number;
  bufferBytes?: number;
}

/** Called synchronously per packet; `data` is only valid during the call. */
export type TapHandler = (wallUs: number, data: Uint8Array, origLen: number) => void;

export interface TapStats {
  delivered: number;
  handlerErrors: number;
  /** libpcap's ps_drop: dropped for lack of buffer space */
  kernelDrops: number;
  /** libpcap's ps_ifdrop */
  ifDrops: number;
}

interface PcapPacket {
  buf: Buffer;
  header: Buffer;
  link_type: string;
}

interface PcapSessionLike {
  link_type: string;
  on(ev: 'packet', fn: (p: PcapPacket) => void): void;
  close(): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
}

interface PcapModule {
  createSession(device: string, opts: Record<string, unknown>): PcapSessionLike;
}

const DLT_BY_NAME: Record<string, number> = {
  LINKTYPE_NULL: 0,
  LINKTYPE_ETHERNET: 1,
  LINKTYPE_RAW: 101,
  LINKTYPE_LINUX_SLL: 113,
  LINKTYPE_LINUX_SLL2: 276,
};

let pcapModule: PcapModule | undefined;
function loadPcap(): PcapModule {
  if (pcapModule === undefined) {
    const require = createRequire(import.meta.url);
    pcapModule = require('pcap') as PcapModule;
  }
  return pcapModule;
}

export class Tap {
  private session: PcapSessionLike | undefined;
  readonly dlt: number;
  private delivered = 0;
  private handlerErrors = 0;
  private firstError: unknown = undefined;

  constructor(
    readonly opts: TapOptions,
    handler: TapHandler,
  ) {
    const pcap = loadPcap();
    const userFilter = opts.filter !== undefined && opts.filter !== '' ? opts.filter : undefined;
    const filter =
      opts.direction === 'any' ? (userFilter ?? '') : userFilter !== undefined ? `${opts.direction} and (${userFilter})` : opts.direction;
    const session = pcap.createSession(opts.device, {
      filter,
      buffer_timeout: 0,
      snap_length: opts.snapLength ?? 256,
      buffer_size: opts.bufferBytes ?? 8 * 1024 * 1024,
      promiscuous: false,
    });
    this.session = session;
    this.dlt = DLT_BY_NAME[session.link_type] ?? -1;
    session.on('packet', (p) => {
      const h = p.header;
      const wallUs = h.readUInt32LE(0) * 1e6 + h.readUInt32LE(4);
      const capLen = h.readUInt32LE(8);
      const origLen = h.readUInt32LE(12);
      this.delivered++;
      try {
        handler(wallUs, p.buf.subarray(0, Math.min(capLen, p.buf.length)), origLen);
      } catch (err) {
        this.handlerErrors++;
        if (this.firstError === undefined) this.firstError = err;
      }
    });
  }

  /** The first error a handler threw (for a one-time log), then undefined. */
  takeFirstError(): unknown {
    const e = this.firstError;
    this.firstError = undefined;
    return e;
  }

  stats(): TapStats {
    const s = this.session?.stats() ?? { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };
    return { delivered: this.delivered, handlerErrors: this.handlerErrors, kernelDrops: s.ps_drop, ifDrops: s.ps_ifdrop };
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
