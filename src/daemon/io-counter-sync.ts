/**
 * The kernel-side I/O counters (the NFQUEUE's drops, the capture taps' drops) into prom-client:
 * they are running totals read from the kernel, so each sync adds what grew since the last one.
 */
import type { TapStats } from './capture.js';
import { NFQUEUE_ERROR_KINDS, type Metrics } from './metrics.js';
import type { NfQueueStats } from './nfqueue.js';

export class IoCounterSync {
  private lastNfq = { kernelQueueDropped: 0, kernelUserDropped: 0, enobufs: 0 };
  private lastNfqErrors = { send: 0, recv: 0, truncated: 0, verdict_lost: 0 };
  private readonly lastCapture = new Map<string, { kernel: number; iface: number }>();

  constructor(private readonly m: Metrics) {}

  /** The queue's counters (undefined while it is closed); the taps as [eth, wlan]. */
  sync(nfq: NfQueueStats | undefined, taps: readonly TapStats[]): void {
    const m = this.m;
    if (nfq !== undefined) {
      const last = this.lastNfq;
      const kq = nfq.kernelQueueDropped ?? last.kernelQueueDropped;
      const ku = nfq.kernelUserDropped ?? last.kernelUserDropped;
      if (kq > last.kernelQueueDropped) m.nfqueueDrops.inc({ kind: 'kernel_queue' }, kq - last.kernelQueueDropped);
      if (ku > last.kernelUserDropped) m.nfqueueDrops.inc({ kind: 'user' }, ku - last.kernelUserDropped);
      if (nfq.enobufs > last.enobufs) m.nfqueueDrops.inc({ kind: 'enobufs' }, nfq.enobufs - last.enobufs);
      this.lastNfq = { kernelQueueDropped: kq, kernelUserDropped: ku, enobufs: nfq.enobufs };
      const e = this.lastNfqErrors;
      const now = { send: nfq.sendErrors ?? e.send, recv: nfq.recvErrors ?? e.recv, truncated: nfq.truncated ?? e.truncated, verdict_lost: nfq.verdictsLost ?? e.verdict_lost };
      for (const kind of NFQUEUE_ERROR_KINDS) if (now[kind] > e[kind]) m.nfqueueErrors.inc({ kind }, now[kind] - e[kind]);
      this.lastNfqErrors = now;
    }
    taps.forEach((s, i) => {
      const tap = i === 0 ? 'eth' : 'wlan';
      const last = this.lastCapture.get(tap) ?? { kernel: 0, iface: 0 };
      // a tap reopened (its interface was down) counts from 0 again
      const prev = s.kernelDrops < last.kernel || s.ifDrops < last.iface ? { kernel: 0, iface: 0 } : last;
      if (s.kernelDrops > prev.kernel) m.captureDrops.inc({ tap, kind: 'kernel' }, s.kernelDrops - prev.kernel);
      if (s.ifDrops > prev.iface) m.captureDrops.inc({ tap, kind: 'interface' }, s.ifDrops - prev.iface);
      this.lastCapture.set(tap, { kernel: s.kernelDrops, iface: s.ifDrops });
    });
  }
}
