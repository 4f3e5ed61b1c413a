/**
 * The in-band RTP path's I/O: the raw socket through which zhuge's own feedback (and REMB caps)
 * leave in the client's name, the 5 ms poll that sends what the engine builds, and the file of
 * REMB lifts the watchdog sends if this process dies (cap-lift-file.ts). Policy stays in the
 * engine (src/engine/rtp/).
 *
 * Without a raw socket (no CAP_NET_RAW, addon missing) the path does not report at all, so the
 * client's own feedback keeps flowing: RTP is then only observed.
 *
 * A reload may turn the path off and on again (the engine then drops its RtpFeedback and later
 * makes a new one): this follows whichever the engine has now, and sends the lifts of the caps
 * the dropped one had in force. (Following the instance it was opened with cut the sender off
 * after off -> on: the new path removed the client's feedback and nothing sent its own.)
 */
import type { Logger } from 'pino';
import type { RtpFeedback } from '../engine/rtp/rtp-feedback.js';
import { CapLiftFile } from './cap-lift-file.js';
import { monoNowUs } from './clock.js';
import { LogBudget, logFailure, once } from './logger.js';
import { RawSender } from './rawsock.js';

/** Where the path lives: the engine (its current RtpFeedback, and the lifts of one a reload dropped). */
export interface FeedbackSource {
  readonly rtp: RtpFeedback | undefined;
  readonly retiredLifts: Uint8Array[];
}

export class FeedbackSender {
  private closed = false;
  private attached: RtpFeedback | undefined;
  // transport creations, mode changes and evictions: a few per call, never per packet
  private readonly budget = new LogBudget(20, 60_000); // any RTP-shaped datagram creates a transport: 20 lines a minute

  private constructor(
    private readonly source: FeedbackSource,
    private raw: RawSender | undefined,
    private readonly liftFile: CapLiftFile,
    private readonly log: Logger,
  ) {}

  /** Opens the socket and starts the timers it needs (returned, for the daemon to clear); undefined without a socket. */
  static open(source: FeedbackSource, liftFile: CapLiftFile, log: Logger): { sender: FeedbackSender; timers: NodeJS.Timeout[] } | undefined {
    let raw: RawSender;
    try {
      raw = RawSender.open();
    } catch (err) {
      source.rtp?.setReporting(false);
      log.error({ err: String(err) }, 'raw socket unavailable: RTP feedback is not rebuilt (client feedback passes)');
      return undefined;
    }
    const s = new FeedbackSender(source, raw, liftFile, log);
    s.current();
    // the caps in force, for the watchdog to lift if this process dies (a few writes a minute)
    liftFile.reset();
    const timers = [
      setInterval(() => s.keepLifts(), 200),
      // feedback intervals are tens of ms; a 5 ms poll keeps each build within 5 ms of its due time
      setInterval(() => s.sendBuilt(), 5),
    ];
    return { sender: s, timers };
  }

  get stats(): RawSender['stats'] | undefined {
    return this.raw?.stats;
  }

  /** The engine's path now; a new one (RTP turned on again by a reload) gets the log hooks. */
  private current(): RtpFeedback | undefined {
    const rtp = this.source.rtp;
    if (rtp !== undefined && rtp !== this.attached) {
      rtp.onEvent = (e) => this.budget.info(this.log, Date.now(), { transport: e.transport, event: e.event, mode: e.mode, why: e.why }, 'rtp transport');
      // level trace at start: each feedback build's report timing (lead, horizon), for evidence runs
      if (this.log.isLevelEnabled('trace')) rtp.onTimingTrace = (e) => this.log.trace(e, 'rtp report timing');
    }
    this.attached = rtp;
    return rtp;
  }

  private keepLifts(): void {
    if (this.closed) return;
    try {
      this.liftFile.update(this.current()?.liftsInForce() ?? []);
    } catch (err) {
      once(this.log, 'liftfile', 'keeping the REMB lifts for the watchdog failed: a crash now leaves senders capped', { err: String(err) });
    }
  }

  private sendBuilt(): void {
    const raw = this.raw;
    if (raw === undefined || this.closed) return;
    // every 5 ms: no array built when nothing is due (lifts retired by a reload are rare)
    const retired = this.source.retiredLifts;
    if (retired.length > 0) this.sendAll(raw, retired.splice(0));
    const due = this.current()?.poll(monoNowUs());
    if (due !== undefined && due.length > 0) this.sendAll(raw, due);
  }

  private sendAll(raw: RawSender, pkts: readonly Uint8Array[]): void {
    for (const pkt of pkts) {
      try {
        raw.send(pkt);
      } catch (err) {
        once(this.log, 'rawsend', 'sending rebuilt feedback failed (counted)', { err: String(err) });
      }
    }
  }

  /** At stop, first of all: a sender keeps the last REMB it got, so the caps in force are lifted; nothing is sent after this. */
  liftAll(): void {
    this.closed = true;
    const raw = this.raw;
    if (raw === undefined) return;
    for (const pkt of [...this.source.retiredLifts.splice(0), ...(this.source.rtp?.liftCaps() ?? [])]) logFailure(this.log, 'lifting a REMB cap', () => raw.send(pkt));
    logFailure(this.log, 'removing the REMB lifts file', () => this.liftFile.clear());
  }

  close(): void {
    this.closed = true;
    this.raw?.close();
    this.raw = undefined;
  }
}
