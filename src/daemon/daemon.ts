/**
 * The live daemon: I/O and lifecycle around the engine.
 *
 *   eth  ──(libpcap, inbound)──▶ engine.onDownlinkArrival   ┐ observe only: the kernel
 *   wlan ──(libpcap, outbound)─▶ engine.onDownlinkDeparture ┘ forwards downlink itself
 *   qdisc backlog (rtnetlink, every resyncIntervalMs) ─▶ engine.onBacklogSample
 *   uplink from wlan ──(iptables NFQUEUE --queue-bypass)──▶ engine.onUplink ─▶ accept now, or
 *        hold queue (one timer, release in order) ─▶ batched ACCEPT verdicts
 *
 * Behind NAT (the AP masquerading its clients) the eth tap also captures packets to the eth
 * interface's own addresses (the downlink before de-NAT); the engine learns which of them are
 * forwarded to a client and translates them (see src/engine/engine.ts).
 *
 * Fail open: the NFQUEUE rule bypasses a queue nobody is bound to (daemon dead), the queue is
 * bound with FAIL_OPEN (queue full: kernel accepts), and a watchdog process outside this event
 * loop removes the rules when heartbeats stop for `watchdog.stallMs` or the daemon exits by any
 * path. Start order: taps first (a direction filter loses the first packet after opening), then
 * the queue, then the rules, then the watchdog. Stop order: rules out (no new packets), held
 * packets released, queue closed, watchdog dismissed.
 */
import type { Logger } from 'pino';
import type { QueueModelCounters } from '../fortune-teller/index.js';
import type { EngineCounters } from '../engine/counters.js';
import { Engine } from '../engine/engine.js';
import type { Flow } from '../engine/flow.js';
import { newUplinkDecision } from '../engine/options.js';
import { TapSet } from './tap-set.js';
import { tapArgsFor } from './tap-args.js';
import { healthOf, type Health } from './health.js';
import { CapLiftFile, capLiftPath, liftCommand } from './cap-lift-file.js';
import { monoNowUs, WallToMono } from './clock.js';
import type { Config } from '../config/index.js';
import { engineOptionsFrom, withClients } from './engine-options.js';
import { childLogger, LogBudget, logFailure, logFailureAsync, once } from './logger.js';
import { CounterSync, ENGINE_COUNTER_METRICS, QUEUE_MODEL_COUNTER_METRICS, RTP_COUNTER_METRICS, type RtpFeedbackCounters } from './counter-metrics.js';
import { createMetrics, type Metrics } from './metrics.js';
import { NfQueue, type NfqPacket, type NfQueueStats } from './nfqueue.js';
import { wifiAttachment } from './bridge-port.js';
import { OffloadWatch } from './offload-watch.js';
import { Interception } from './interception.js';
import { interceptionPlanFrom, type InterceptionPlan, type WifiAttachment } from './rule-spec.js';
import { QueueObserver } from './queue-observer.js';
import { IoHealth, type InterfaceReading } from './io-health.js';
import { PredictionLog } from './prediction-log.js';
import { RuleKeeper, TICK_MS } from './rule-keeper.js';
import { BypassCount } from './bypass-count.js';
import { readInterface } from './interface-state.js';
import { WatchdogKeeper } from './watchdog-keeper.js';
import { FeedbackSender } from './feedback-sender.js';
import type { StatusSnapshot } from './http-server.js';
import { clientSubnetsOf } from './subnets.js';
import { restartNeeded } from './reload-plan.js';
import { IoCounterSync } from './io-counter-sync.js';
import { UplinkHold } from './uplink-hold.js';
import { VERSION } from '../version.js';

export interface DaemonOptions {
  /** chain suffix so several instances (tests, the demo) never collide */
  instanceId?: string;
  /** skip the watchdog process (tests of the engine wiring only) */
  noWatchdog?: boolean;
  /** fixed seed for the Feedback Updater (else config or random) */
  seed?: number;
  /** a file for every downlink packet's prediction (prediction-log.ts: test beds' ground-truth joins) */
  predictionLog?: string;
}

export class Daemon {
  readonly metrics: Metrics;
  readonly engine: Engine;
  private readonly log: Logger;
  private readonly clock = new WallToMono();
  /** the watchdog's stall and resume lines: 10 a minute (zhuge_watchdog_trips_total counts them all) */
  private readonly stallLines = new LogBudget(10, 60_000);
  /** uplink packets passed by the kernel without reaching zhuge (bypass-count.ts) */
  private readonly bypass = new BypassCount();
  /** every held uplink packet (NFQUEUE id): timed and gated */
  private readonly uplink: UplinkHold<number, Flow>;
  private readonly decision = newUplinkDecision();
  private raw: FeedbackSender | undefined;
  /** the eth and wlan taps, each reopened when its interface is back (tap-set.ts) */
  private readonly taps: TapSet;
  private nfq: NfQueue | undefined;
  private rules: Interception;
  /** where the wlan interface sits (a bridge port or not), read once at construction */
  private readonly attachment: WifiAttachment;
  private readonly watchdog: WatchdogKeeper;
  /** the REMB lifts the watchdog sends if this process dies with caps in force */
  private readonly liftFile: CapLiftFile;
  /** the queue backend: the wlan qdisc, or the stations' TXQs (mac80211) */
  private queue: QueueObserver | undefined;
  private ioHealth: IoHealth | undefined;
  private readonly offloads: OffloadWatch;
  /**
   * An I/O source stopped for good (an interface vanished, NFQUEUE no longer served: io-health.ts).
   * `zhuge run` stops (failing open) and exits 1 for the supervisor to restart it.
   */
  onFatal: ((reason: string) => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** the queue backend's reads (restarted with it when the wlan interface is re-created) */
  private queueTimers: NodeJS.Timeout[] = [];
  private readonly engineMetrics: CounterSync<EngineCounters>;
  private readonly queueModelMetrics: CounterSync<QueueModelCounters>;
  private readonly rtpMetrics: CounterSync<RtpFeedbackCounters>;
  private readonly ioCounters: IoCounterSync;
  private stopping = false;
  /** the interception rules: installed, kept in place, handed to the watchdog (rule-keeper.ts) */
  private readonly ruleKeeper: RuleKeeper;
  private gateTimer: NodeJS.Timeout | undefined;
  readonly startedAt = Date.now();
  private readonly startedUs = monoNowUs();
  /** when the watchdog last failed to remove the rules (health.ts) */
  private watchdogFailedAtUs: number | undefined;
  subnets: string[];

  private readonly predictionLog: PredictionLog | undefined;

  /** the configuration the daemon started with (what a reload can change is judged against it) */
  private readonly startCfg: Config;

  constructor(
    private cfg: Config,
    private readonly rootLog: Logger,
    private readonly opts: DaemonOptions = {},
  ) {
    this.startCfg = cfg;
    this.log = childLogger(rootLog, 'daemon');
    this.predictionLog = opts.predictionLog !== undefined ? new PredictionLog(opts.predictionLog, (us) => this.clock.toWall(us)) : undefined;
    this.metrics = createMetrics();
    this.engineMetrics = new CounterSync(this.metrics, ENGINE_COUNTER_METRICS);
    this.queueModelMetrics = new CounterSync(this.metrics, QUEUE_MODEL_COUNTER_METRICS);
    this.rtpMetrics = new CounterSync(this.metrics, RTP_COUNTER_METRICS);
    this.ioCounters = new IoCounterSync(this.metrics);
    this.offloads = new OffloadWatch(this.metrics, this.log);
    const seed = opts.seed ?? cfg.feedbackUpdater.seed ?? (Math.random() * 2 ** 32) >>> 0;
    const engineLog = childLogger(rootLog, 'engine');
    this.attachment = wifiAttachment(cfg);
    this.subnets = clientSubnetsOf(cfg, this.attachment.bridge);
    this.engine = new Engine(withClients(engineOptionsFrom(cfg, seed), this.subnets), {
      onPrediction: (p, tUs, key, station) => void (this.metrics.predictedDelay.observe(p.totalMs / 1000), this.predictionLog?.add(tUs, key, station, p)),
      onAddedDelay: (us) => this.metrics.addedDelay.observe(us / 1e6),
      onFirstMalformed: (reason, what, direction) =>
        engineLog.warn({ reason, what, direction }, 'malformed packet passed through untouched (counted; logged once per reason)'),
      onInternalError: (err) => once(engineLog, 'internal', 'internal error on the packet path (packet passed; counted)', { err: String(err) }, 'error'),
    });
    this.rules = new Interception({ chainPrefix: cfg.nfqueue.chain, ...(opts.instanceId !== undefined ? { instanceId: opts.instanceId } : {}) });
    this.ruleKeeper = new RuleKeeper(this.rules, interceptionPlanFrom(cfg, this.subnets, this.attachment), this.metrics, this.log, () => this.stopping, cfg.watchdog.stallMs, {
      installing: () => this.bypass.installing(this.kernelIdSequence()),
      checked: () => this.metrics.nfqueueBypassed.inc(this.bypass.sample(this.rules.matchedPackets(), this.kernelIdSequence())),
    });
    this.metrics.setHealthSource(() => this.health().findings.map((f) => f.problem));
    this.liftFile = new CapLiftFile(capLiftPath(this.rules.chain));
    this.watchdog = new WatchdogKeeper(this.rules, cfg.watchdog.stallMs, this.log, {
      removing: () => this.ruleKeeper.removingByWatchdog(),
      rulesRemoved: () => {
        this.ruleKeeper.removedByWatchdog();
        this.metrics.watchdogTrips.inc();
        // a flood can stall the loop again and again: the lines are budgeted, the trips counted
        this.stallLines.line(this.log, 'warn', Date.now(), {}, 'watchdog removed the rules: this process stalled (traffic flows untreated)');
      },
      removeFailed: () => {
        this.watchdogFailedAtUs = monoNowUs();
        this.metrics.watchdogTrips.inc();
        this.log.error('watchdog could not remove the rules while this process stalled (checked four times): uplink traffic may have been held');
      },
      resumed: () => {
        if (this.stopping) return;
        this.stallLines.line(this.log, 'info', Date.now(), {}, 'heartbeats resumed after a stall: re-installing the rules');
        this.ruleKeeper.resume();
      },
      fatal: (reason) => this.fatal(reason),
      stopping: () => this.stopping,
    }, [liftCommand(this.liftFile.path)]);
    this.taps = new TapSet(
      [cfg.interfaces.eth, cfg.interfaces.wlan],
      (dev) => tapArgsFor(dev, this.cfg, this.subnets),
      (a, wallUs, data, lt, origLen) => {
        const t = this.clock.toMono(wallUs);
        if (origLen > a.maxFrameBytes) this.offloads.oversize[a.role === 'arr' ? 'eth' : 'wlan']++;
        if (a.role === 'arr') this.engine.onDownlinkArrival(t, data, lt, origLen);
        else this.engine.onDownlinkDeparture(t, data, lt, origLen);
      },
    );
    this.uplink = new UplinkHold<number, Flow>(
      { now: monoNowUs, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      (id, flow, timed, lateUs) => {
        this.nfq?.accept(id);
        if (timed) {
          this.engine.onReleased(flow);
          // how late a hold ended against its release time (timer and event-loop lateness)
          if (!this.stopping) this.metrics.holdLateness.observe(lateUs / 1e6);
        }
      },
      () => this.nfq?.flush(),
    );
  }

  get config(): Config {
    return this.cfg;
  }

  get heldNow(): number {
    return this.uplink.size;
  }

  async start(): Promise<void> {
    const c = this.cfg;
    // taps first: they must be open before traffic is steered
    this.taps.openAll();
    const seen = new Map<string, InterfaceReading>();
    for (const [dev, r] of this.readTapInterfaces()) if (r !== undefined) seen.set(dev, r);
    this.ioHealth = new IoHealth(seen);
    this.queue = await QueueObserver.open(c, this.engine, this.log);
    this.nfq = NfQueue.open(
      { queueNum: c.nfqueue.queueNum, maxLen: c.nfqueue.maxLen, failOpen: c.nfqueue.failOpen, copyBytes: 0xffff },
      (batch) => this.onUplinkBatch(batch),
    );
    if (this.engine.rtp !== undefined) this.openFeedbackSender();
    await this.ruleKeeper.start();
    if (this.opts.noWatchdog !== true) await this.watchdog.start();
    this.queueTimers = this.queue.startTimers(c);
    this.timers.push(setInterval(() => this.housekeeping(), TICK_MS));
    void this.offloads.check([c.interfaces.eth, c.interfaces.wlan, ...(this.attachment.bridge !== undefined ? [this.attachment.bridge] : [])]);
    this.log.info(
      { eth: c.interfaces.eth, wlan: c.interfaces.wlan, bridge: this.attachment.bridge, clientSubnets: this.subnets, queueNum: c.nfqueue.queueNum, chain: this.rules.chain },
      'zhuge started',
    );
  }

  private onUplinkBatch(batch: NfqPacket[]): void {
    const nfq = this.nfq;
    if (nfq === undefined) return;
    const now = monoNowUs();
    for (const p of batch) {
      if (this.stopping) {
        nfq.accept(p.id);
        continue;
      }
      const d = this.engine.onUplink(now, p.payload, this.decision, p.hwAddr);
      if (d.verdict === 'hold') this.uplink.hold(p.id, d.flow, d.releaseUs);
      else if (d.verdict === 'gate' && d.flow !== undefined) {
        this.uplink.gate(p.id, d.flow);
        this.armGatePoll();
      } else if (d.verdict === 'gate') nfq.accept(p.id);
      else if (d.verdict === 'drop') nfq.drop(p.id);
      else if (d.verdict === 'rewrite') nfq.accept(p.id, d.payload);
      else nfq.accept(p.id);
    }
    // the binding flushes the verdicts of a batch when the callback returns
  }

  /**
   * feedbackUpdater.mode 'drain': gated uplink packets leave when the Wi-Fi queue is back at its
   * target, decided at release time, so a 1 ms poll runs while any packet is gated.
   */
  private armGatePoll(): void {
    if (this.gateTimer !== undefined) return;
    this.gateTimer = setInterval(() => {
      const nfq = this.nfq;
      if (nfq === undefined || this.stopping) return;
      const n = this.engine.pollGates(monoNowUs(), (f) => this.uplink.releaseGated(f));
      if (n > 0) nfq.flush();
      if (this.engine.gatedPackets === 0) {
        clearInterval(this.gateTimer);
        this.gateTimer = undefined;
      }
    }, 1);
  }

  /** The in-band path's raw socket, poll and lifts file (feedback-sender.ts). */
  private openFeedbackSender(): void {
    if (this.engine.rtp === undefined) return;
    const opened = FeedbackSender.open(this.engine, this.liftFile, this.log);
    if (opened === undefined) return;
    this.raw = opened.sender;
    this.timers.push(...opened.timers);
  }

  /** The kernel's last packet id for zhuge's queue (bypass-count.ts), NaN when unreadable. */
  private kernelIdSequence(): number {
    return this.nfq?.stats().kernelIdSequence ?? Number.NaN;
  }

  private housekeeping(): void {
    const now = monoNowUs();
    this.ruleKeeper.tick(now / 1000);
    this.clock.maybeRecheck(now);
    this.engine.tick(now);
    void this.predictionLog?.flush();
    // the queue's counters once per tick (each read parses /proc): metrics and the I/O check share them
    const nfqStats = this.nfq?.stats();
    this.syncMetrics(nfqStats);
    this.checkIo(nfqStats);
    for (const t of this.taps.open) {
      const e = t.takeFirstError();
      if (e !== undefined) once(this.log, `tap-${t.opts.device}`, 'a tap handler failed (packet skipped, counted)', { err: String(e) }, 'error');
    }
  }

  /** Acts on what io-health.ts makes of the interfaces and the queue (once per housekeeping tick). */
  private checkIo(nfqStats: NfQueueStats | undefined): void {
    if (this.ioHealth === undefined || this.stopping) return;
    for (const a of this.ioHealth.check({ nfq: nfqStats, interfaces: this.readTapInterfaces() })) {
      if (a.kind === 'warn') this.log.warn(a.reason);
      else if (a.kind === 'close') {
        this.log.warn(a.reason);
        logFailure(this.log, `closing the ${a.device} tap`, () => this.taps.close(a.device));
      } else if (a.kind === 'reopen') {
        this.log.info(a.reason);
        try {
          this.taps.reopen(a.device);
        } catch (err) {
          this.fatal(`reopening the ${a.device} tap failed (${String(err)})`);
          return;
        }
        if (a.recreated && a.device === this.cfg.interfaces.wlan) void this.reopenQueue();
      } else {
        this.fatal(a.reason);
        return;
      }
    }
  }

  private stopQueueTimers(): void {
    for (const t of this.queueTimers) clearInterval(t);
    this.queueTimers = [];
  }

  /** The wlan interface was re-created: the queue backend opened anew on it (its reads go by ifindex). */
  private async reopenQueue(): Promise<void> {
    this.stopQueueTimers();
    logFailure(this.log, 'closing the queue backend', () => this.queue?.close());
    try {
      const q = await QueueObserver.open(this.cfg, this.engine, this.log);
      if (this.stopping) {
        q.close();
        return;
      }
      this.queue = q;
      this.queueTimers = q.startTimers(this.cfg);
      this.log.info(`the queue backend reopened on ${this.cfg.interfaces.wlan}`);
    } catch (err) {
      // /healthz shows queue_unread until a later re-creation opens it
      this.log.error({ err: String(err) }, `reopening the queue backend on ${this.cfg.interfaces.wlan} failed`);
    }
  }

  /** Each tapped interface as sysfs shows it now (undefined: gone). */
  private readTapInterfaces(): Map<string, InterfaceReading | undefined> {
    return new Map(this.taps.devices.map((dev) => [dev, readInterface(dev)] as const));
  }

  private fatal(reason: string): void {
    this.log.fatal(`${reason}: stopping (rules removed, held packets released) and exiting 1 for the supervisor to restart zhuge`);
    this.onFatal?.(reason);
  }

  /** Copies the parts' plain counters into prom-client (hot path increments numbers only; counter-metrics.ts maps them). */
  syncMetrics(nfqStats: NfQueueStats | undefined = this.nfq?.stats()): void {
    const m = this.metrics;
    this.offloads.sync();
    this.engineMetrics.sync(this.engine.counters);
    this.queueModelMetrics.sync(this.engine.ft.counters);
    m.flowsActive.set(this.engine.flows.size);
    // every flow of the engine's table has its feedback delayed or gated by its uplink policy
    const ackDelay = this.engine.flows.size;
    const rtp = this.engine.rtp;
    const modes = { twcc: 0, ccfb: 0, 'srtcp-delay': 0, passthrough: 0 };
    if (rtp !== undefined) {
      const st = rtp.status(monoNowUs(), 100_000);
      for (const t of st.list) modes[t.mode]++;
      this.rtpMetrics.sync(st.counters);
      m.rtpReportLargestStep.set(st.counters.reportTiming.largestForwardStepUs / 1e6);
    }
    m.flowsByMode.set({ mode: 'ack-delay' }, ackDelay);
    m.flowsByMode.set({ mode: 'passthrough' }, modes.passthrough);
    m.flowsByMode.set({ mode: 'twcc' }, modes.twcc);
    m.flowsByMode.set({ mode: 'ccfb' }, modes.ccfb);
    m.flowsByMode.set({ mode: 'srtcp-delay' }, modes['srtcp-delay']);
    m.heldPackets.set(this.uplink.size);
    m.queueBacklog.set(this.queue?.backlogBytes() ?? this.engine.ft.queue.bytesInQueue);
    this.ioCounters.sync(nfqStats, this.taps.stats());
  }

  /** Applies a new configuration (SIGHUP), all or nothing: what only a restart can change is refused (reload-plan.ts). */
  async reload(next: Config): Promise<{ ok: boolean; message: string }> {
    const refuse = (why: string): { ok: boolean; message: string } => {
      this.metrics.configReloads.inc({ result: 'error' });
      return { ok: false, message: `${why}; kept the running configuration` };
    };
    const needs = restartNeeded(this.startCfg, next);
    if (needs.length > 0) return refuse(`${needs.join(', ')}: applied only at start (restart to change)`);
    const seed = next.feedbackUpdater.seed ?? this.engine.options.feedbackUpdater.seed;
    const subnets = clientSubnetsOf(next, this.attachment.bridge);
    let spec: InterceptionPlan;
    try {
      spec = interceptionPlanFrom(next, subnets, this.attachment);
    } catch (err) {
      return refuse(String(err));
    }
    // the rules first: when they cannot be installed nothing else changes (never half-applied)
    try {
      await this.ruleKeeper.replan(spec);
    } catch (err) {
      return refuse(`installing the new rules failed (${String(err)})`);
    }
    this.engine.reconfigure(withClients(engineOptionsFrom(next, seed), subnets));
    this.rootLog.level = next.log.level;
    this.subnets = subnets;
    this.cfg = next;
    this.metrics.configReloads.inc({ result: 'ok' });
    return { ok: true, message: 'configuration reloaded' };
  }

  /** What /healthz answers and zhuge_health_problem shows (health.ts). */
  health(): Health {
    const q = this.queue?.readState(this.cfg);
    return healthOf({
      nowUs: monoNowUs(),
      rulesInstalled: this.ruleKeeper.installed,
      queue: { problem: q?.problem, lastReadOkUs: q?.lastReadOkUs, startedUs: this.startedUs, readIntervalMs: q?.readIntervalMs ?? 1000 },
      interfacesDown: this.ioHealth?.interfacesDown ?? [],
      interfacesGone: this.ioHealth?.interfacesGone ?? [],
      watchdogFailedAtUs: this.watchdogFailedAtUs,
    });
  }

  status(): StatusSnapshot {
    const now = monoNowUs();
    const e = this.engine.status(now);
    const lp = e.queue.lastPrediction;
    const txq = this.queue?.txqStatus();
    return {
      version: VERSION,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      backend: this.cfg.queue.backend,
      flows: e.flows,
      queues: this.queue?.queues(e) ?? [],
      ...(txq !== undefined ? { txq } : {}),
      heldPackets: this.uplink.size,
      flowsActive: e.flowsActive,
      lastPrediction: lp,
      rulesInstalled: this.ruleKeeper.installed,
      offloads: this.offloads.report,
      interception: { bridge: this.attachment.bridge, families: [...(this.ruleKeeper.spec.v4 ? ['ipv4'] : []), ...(this.ruleKeeper.spec.v6 ? ['ipv6'] : [])] },
      clientSubnets: this.subnets,
      counters: this.engine.counters,
      queueModel: this.engine.ft.counters,
      taps: this.taps.open.map((t) => ({ device: t.opts.device, direction: t.opts.direction, ...t.stats() })),
      nfqueue: this.nfq?.stats(),
      rtp: this.engine.rtp?.status(now),
      feedbackSender: this.raw?.stats,
      // wall - monotonic clock (µs): maps the times the daemon works and reports in onto captures
      clock: { wallMinusMonoUs: Math.round(this.clock.toWall(now) - now) },
      ...(this.predictionLog !== undefined ? { predictionLog: this.predictionLog.status() } : {}),
    };
  }

  /** Orderly stop: rules out, held packets released, queue closed, watchdog dismissed. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // every step runs whatever the one before did: a throw must not leave held packets, sockets
    // or the watchdog behind (the process would stay up without rules, or with packets held)
    let released = 0;
    const step = (what: string, fn: () => unknown): void => logFailure(this.log, what, fn);
    const stepAsync = (what: string, fn: () => Promise<unknown>): Promise<void> => logFailureAsync(this.log, what, fn);
    // a sender keeps the last REMB it got: caps in force are lifted before anything else stops
    step('lifting the REMB caps', () => this.raw?.liftAll());
    // from now on the client's own feedback passes again
    step('handing feedback back to the clients', () => this.engine.rtp?.setReporting(false));
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await stepAsync('removing the rules', () => this.ruleKeeper.remove());
    clearInterval(this.gateTimer);
    this.gateTimer = undefined;
    // the engine names each gated packet's flow in order, then the rest (timed holds) goes
    step('releasing held packets', () => (released = this.engine.flushGates((f) => this.uplink.releaseGated(f)) + this.uplink.drain()));
    step('flushing the verdicts', () => this.nfq?.flush());
    step('closing the queue', () => this.nfq?.close());
    this.nfq = undefined;
    for (const dev of this.taps.devices) step(`closing the ${dev} tap`, () => this.taps.close(dev));
    this.stopQueueTimers();
    step('closing the queue backend', () => this.queue?.close());
    step('closing the feedback socket', () => this.raw?.close());
    this.raw = undefined;
    await stepAsync('stopping the watchdog', () => this.watchdog.stop());
    await stepAsync('writing the prediction log', async () => this.predictionLog?.flush());
    this.log.info({ released }, 'zhuge stopped: rules removed, held packets released');
  }
}
