/**
 * The daemon's queue backend, one part: `qdisc` (the wlan qdisc over rtnetlink: backlog resync,
 * drop counter, whether it holds a visible queue) or `mac80211` (each station's TXQs in debugfs).
 * Opens the one the configuration names, runs its periodic reads, says what /status and the
 * backlog metric show of it, and closes it. I/O around the engine.
 */
import type { Logger } from 'pino';
import type { Config, QueueRateFrom } from '../config/index.js';
import type { Engine } from '../engine/engine.js';
import type { EngineStatus } from '../engine/flow-status.js';
import { formatMac } from '../engine/station-directory.js';
import type { QueueStatus } from './http-server.js';
import { QdiscPoller } from './qdisc-poller.js';
import { TxqPoller, type TxqPollerStats } from './txq-poller.js';

/** queue.rateFrom 'shaper': how often the shaper's rate is read (ms); a rate step is known this late at most. */
export const SHAPER_POLL_MS = 10;

export class QueueObserver {
  private constructor(
    private readonly wlan: string,
    private readonly engine: Engine,
    private qdisc: QdiscPoller | undefined,
    private readonly txq: TxqPoller | undefined,
    private readonly rateFrom: QueueRateFrom = 'measured',
  ) {}

  static async open(c: Config, engine: Engine, log: Logger): Promise<QueueObserver> {
    const wlan = c.interfaces.wlan;
    if (c.queue.backend === 'mac80211') return new QueueObserver(wlan, engine, undefined, TxqPoller.open(wlan, engine, log.child({ module: 'txq' })));
    const qdisc = await QdiscPoller.open(wlan, engine, log);
    await qdisc.checkQueueVisible(wlan);
    return new QueueObserver(wlan, engine, qdisc, undefined, c.queue.rateFrom);
  }

  /** The periodic reads, as interval timers (the daemon clears them at stop). */
  startTimers(c: Config): NodeJS.Timeout[] {
    if (this.txq !== undefined) return [setInterval(() => this.txq?.poll(), c.queue.txqPollMs), setInterval(() => this.txq?.refreshStations(), 1000)];
    const timers = [setInterval(() => this.qdisc?.resync(), c.queue.resyncIntervalMs)];
    if (this.engine.rtp !== undefined && c.flows.rtp.kernelDrops) timers.push(setInterval(() => this.qdisc?.pollDrops(), 10));
    if (c.queue.rateFrom === 'shaper') timers.push(setInterval(() => this.qdisc?.pollShaperRate(), SHAPER_POLL_MS));
    return timers;
  }

  /** /status `queues`: the interface's (with mac80211, packets to unknown destinations), then one per station. */
  queues(e: EngineStatus): QueueStatus[] {
    return [
      {
        name: this.wlan,
        visible: this.qdisc?.queueProblem === undefined,
        backlogBytes: e.queue.bytesInQueue,
        rateBps: e.queue.dequeueRateBps,
        predictedDelayMs: e.queue.lastPrediction?.totalMs ?? 0,
        ...(this.rateFrom === 'shaper' && this.qdisc !== undefined
          ? { shaperRateBps: this.qdisc.shaperRateBps, ...(this.qdisc.shaperProblem !== undefined ? { shaperProblem: this.qdisc.shaperProblem } : {}) }
          : {}),
      },
      ...(e.stations ?? []).map((s) => ({ name: `${this.wlan}/${formatMac(s.mac)}`, backlogBytes: s.bytesInQueue, rateBps: s.dequeueRateBps, predictedDelayMs: 0 })),
    ];
  }

  /** For /healthz (health.ts): why no queue is visible, and when the backend last read it. */
  readState(c: Config): { problem: string | undefined; lastReadOkUs: number | undefined; readIntervalMs: number } {
    if (this.txq !== undefined) return { problem: undefined, lastReadOkUs: this.txq.lastReadOkUs, readIntervalMs: 1000 };
    return { problem: this.qdisc?.queueProblem, lastReadOkUs: this.qdisc?.lastReadOkUs, readIntervalMs: c.queue.resyncIntervalMs };
  }

  /** /status `txq` (mac80211 only). */
  txqStatus(): (TxqPollerStats & { untrackedDepartures: number }) | undefined {
    return this.txq !== undefined ? { ...this.txq.stats, untrackedDepartures: this.engine.stations?.untrackedDepartures ?? 0 } : undefined;
  }

  /** Bytes tracked in every observed queue (zhuge_queue_backlog_bytes). */
  backlogBytes(): number {
    return this.engine.ft.queue.bytesInQueue + (this.engine.stations?.status().reduce((a, s) => a + s.bytesInQueue, 0) ?? 0);
  }

  close(): void {
    this.qdisc?.close();
    this.qdisc = undefined;
  }
}
