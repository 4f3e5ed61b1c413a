/**
 * The wlan qdisc over rtnetlink, for the qdisc backend: its backlog every `resyncIntervalMs`
 * (engine.onBacklogSample), its drop counter every 10 ms (engine.onKernelDrops: packets the AP
 * drops reported lost in zhuge's feedback), and whether it holds a queue the backend can see.
 * I/O around the engine; one read of each kind in flight at a time.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import { monoNowUs } from './clock.js';
import { once } from './logger.js';
import { qdiscQueueProblem, rootQdisc, TcNetlink, type QdiscStats } from './rtnetlink.js';
import { shaperRate } from './shaper-rate.js';

export class QdiscPoller {
  /** why the wlan qdisc holds no queue the qdisc backend can see (undefined: it holds one) */
  queueProblem: string | undefined;
  /** when the qdisc was last read (monotonic µs; /healthz's queue_unread) */
  lastReadOkUs: number | undefined;
  private resyncBusy = false;
  private dropPollBusy = false;
  private ratePollBusy = false;
  /** queue.rateFrom 'shaper': the last rate read (bit/s), and why none could be (for /status) */
  shaperRateBps = 0;
  shaperProblem: string | undefined;
  private lastKernelDrops = -1;
  private lastDropPollUs = 0;

  private constructor(
    private readonly tc: TcNetlink,
    private readonly ifindex: number,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  static async open(wlan: string, engine: Engine, log: Logger): Promise<QdiscPoller> {
    const tc = TcNetlink.open();
    try {
      return new QdiscPoller(tc, await tc.ifindex(wlan), engine, log);
    } catch (err) {
      tc.close();
      throw err;
    }
  }

  close(): void {
    this.tc.close();
  }

  /**
   * The qdisc backend sees a queue only in the wlan qdisc: say so once, at start, when there is
   * none to see (the daemon still runs: it harms nothing, and the operator may add a shaper).
   */
  async checkQueueVisible(wlan: string): Promise<void> {
    let qs: QdiscStats[];
    try {
      qs = await this.tc.qdiscStats(this.ifindex);
    } catch (err) {
      this.log.warn({ err: String(err) }, 'reading the wlan qdisc failed: cannot tell whether it holds a queue');
      return;
    }
    const why = qdiscQueueProblem(qs);
    this.queueProblem = why;
    this.lastReadOkUs = monoNowUs();
    if (why !== undefined) {
      this.log.warn(
        { wlan },
        `${why}: packets wait below the qdisc (e.g. mac80211's per-station queues), where the qdisc backend cannot see them, so predictions stay near 0 and nothing is fed back. On a mac80211 driver set queue.backend: mac80211 (docs/mac80211-backend.md), or queue in a qdisc (an htb shaper just below the Wi-Fi rate, docs/operations.md)`,
      );
    }
  }

  resync(): void {
    if (this.resyncBusy) return;
    this.resyncBusy = true;
    this.tc
      .qdiscStats(this.ifindex)
      .then((qs) => {
        const root = rootQdisc(qs);
        if (root !== undefined) this.engine.onBacklogSample(monoNowUs(), root.backlogBytes, root.qlen);
        // an operator may add (or remove) a shaper while the daemon runs
        this.queueProblem = qdiscQueueProblem(qs);
        this.lastReadOkUs = monoNowUs();
      })
      .catch((err: unknown) => once(this.log, 'resync', 'reading the qdisc backlog failed (tap tracking continues alone)', { err: String(err) }))
      .finally(() => {
        this.resyncBusy = false;
      });
  }

  /**
   * queue.rateFrom 'shaper': the shaper's configured rate (shaper-rate.ts), handed to the engine
   * at every read (an operator or the testbed's trace player may change it at any time). When it
   * cannot be read the engine gets 0 and falls back to the measured rate; the reason is logged once
   * and kept for /status.
   */
  pollShaperRate(): void {
    if (this.ratePollBusy) return;
    this.ratePollBusy = true;
    Promise.all([this.tc.qdiscStats(this.ifindex), this.tc.htbClasses(this.ifindex)])
      .then(([qs, classes]) => {
        const r = shaperRate(qs, classes);
        const rateBps = 'rateBps' in r ? r.rateBps : 0;
        this.shaperRateBps = rateBps;
        this.shaperProblem = 'problem' in r ? r.problem : undefined;
        if ('problem' in r) once(this.log, 'shaperrate', `queue.rateFrom shaper: ${r.problem}; predictions use the measured rate`);
        this.engine.onLinkRate(monoNowUs(), rateBps);
      })
      .catch((err: unknown) => once(this.log, 'shaperrateread', 'reading the wlan shaper rate failed (predictions use the measured rate)', { err: String(err) }))
      .finally(() => {
        this.ratePollBusy = false;
      });
  }

  /**
   * In-band path: the qdisc's drop counter every 10 ms, so packets the AP drops are reported lost
   * in the feedback zhuge builds (the taps alone learn of a drop only when a later packet leaves,
   * usually after the feedback covering it was sent).
   */
  pollDrops(): void {
    if (this.engine.rtp?.recordsFeedback === false) {
      // signal remb: no feedback of zhuge's own to mark drops in (a reload back starts afresh)
      this.lastKernelDrops = -1;
      return;
    }
    if (this.dropPollBusy) return;
    this.dropPollBusy = true;
    const sinceUs = this.lastDropPollUs;
    const nowUs = monoNowUs();
    this.tc
      .qdiscStats(this.ifindex)
      .then((qs) => {
        const root = rootQdisc(qs);
        if (root === undefined) return;
        if (this.lastKernelDrops >= 0 && root.drops > this.lastKernelDrops) this.engine.onKernelDrops(sinceUs, root.drops - this.lastKernelDrops);
        this.lastKernelDrops = root.drops;
        this.lastDropPollUs = nowUs;
      })
      .catch((err: unknown) => once(this.log, 'droppoll', 'reading the qdisc drop counter failed', { err: String(err) }))
      .finally(() => {
        this.dropPollBusy = false;
      });
  }
}
