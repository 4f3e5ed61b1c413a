/**
 * The daemon's side of offloads.ts: the start check (ethtool, flowtables) logged with what to do
 * and exported as gauges, and the oversize frames the taps count while running (a warning the
 * first time a tap sees one, the counter zhuge_capture_oversize_packets_total always).
 */
import type { Logger } from 'pino';
import type { Metrics, TapLabel } from './metrics.js';
import { checkPathOffloads, offloadAdvice, OFFLOAD_FEATURES, type OffloadReport } from './offloads.js';

export class OffloadWatch {
  /** oversize frames per tap since start (the tap callbacks add to it) */
  readonly oversize: Record<TapLabel, number> = { eth: 0, wlan: 0 };
  private readonly synced: Record<TapLabel, number> = { eth: 0, wlan: 0 };
  report: OffloadReport | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Reads the offloads of `devs` once; logs a warning per problem. Never throws. */
  async check(devs: readonly string[]): Promise<void> {
    const r = await checkPathOffloads(devs);
    this.report = r;
    for (const [dev, f] of Object.entries(r.devices)) {
      for (const feature of OFFLOAD_FEATURES) {
        const on = f[feature];
        if (on !== undefined) this.metrics.pathOffload.set({ interface: dev, feature }, on ? 1 : 0);
      }
    }
    if (r.flowOffload !== undefined) this.metrics.flowOffload.set(r.flowOffload ? 1 : 0);
    for (const line of offloadAdvice(r)) this.log.warn(line);
  }

  /** Adds what the taps counted since the last sync to the counter (once per housekeeping tick). */
  sync(): void {
    for (const tap of ['eth', 'wlan'] as const) {
      const d = this.oversize[tap] - this.synced[tap];
      if (d <= 0) continue;
      if (this.synced[tap] === 0) {
        this.log.warn(`the ${tap} tap captured frames longer than its interface's MTU (GRO/GSO/TSO/LRO on the Wi-Fi path): the queue model's byte counts are wrong; see zhuge_path_offload_enabled`);
      }
      this.metrics.captureOversize.inc({ tap }, d);
      this.synced[tap] = this.oversize[tap];
    }
  }
}
