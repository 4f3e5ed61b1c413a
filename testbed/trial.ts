/**
 * The skeleton every bandwidth-drop / competition trial shares, whatever its scenario and
 * workload (TCP: testbed/experiment.ts, QUIC: testbed/quic-experiment.ts, mixed traffic:
 * testbed/mixed-experiment.ts, WebRTC: testbed/rtc-experiment.ts):
 *
 *   ap agent up, bottleneck at its starting rate -> the scenario's preparation -> with zhuge:
 *   the daemon in the ap namespace (testbed/daemon-proc.ts) -> settle 500 ms (none before a
 *   WebRTC call, which takes seconds to connect) -> the workload, which arms the drop timer and
 *   the progress ticker through the context -> the daemon's /status and an orderly stop ->
 *   timers, daemon and agent released whatever happened.
 *
 * The scenario fills in the rates, the daemon's config and the workload (traffic and summary);
 * the arms interleave (runPairs: without, with, without, with, ...).
 */
import { ApAgent } from './player.js';
import { startDaemon, stopDaemon, type DaemonProc, type DaemonProcOptions, type DaemonStatus } from './daemon-proc.js';
import type { Testbed } from './topology.js';
import { monoNowMs, sleep } from './traffic.js';

export type Progress = (msg: string) => void;

/** One trial's outcome: which arm, its metrics (one type per kind of trial) and its raw samples. */
export interface TrialOutcome<M, Raw> {
  zhuge: boolean;
  metrics: M;
  raw: Raw;
}

/** The arm in progress lines, both the same width. */
export const armLabel = (withZhuge: boolean): string => (withZhuge ? 'with zhuge   ' : 'without zhuge');

/** The pause between the setup and the traffic: the queue drains and the previous trial's state goes. */
export const SETTLE_MS = 500;

/** The daemon of a trial's arm with zhuge; without zhuge nothing runs and finish() gives undefined. */
export interface DaemonArm {
  /** the running daemon (undefined without zhuge, and once finished) */
  readonly proc: DaemonProc | undefined;
  /** Reads /status (undefined when it does not answer), then stops the daemon: a non-zero exit fails the trial. */
  finish(): Promise<DaemonStatus | undefined>;
}

/** Runs body with the daemon up in the arm with zhuge; a daemon the body did not finish is stopped (unchecked) on the way out. */
async function withDaemonArm<R>(tb: Testbed, withZhuge: boolean, opts: DaemonProcOptions, body: (d: DaemonArm) => Promise<R>): Promise<R> {
  let proc = withZhuge ? await startDaemon(tb, opts) : undefined;
  const arm: DaemonArm = {
    get proc() {
      return proc;
    },
    finish: async () => {
      if (proc === undefined) return undefined;
      const st = await proc.status().catch(() => undefined);
      const p = proc;
      proc = undefined;
      await stopDaemon(p);
      return st;
    },
  };
  try {
    return await body(arm);
  } finally {
    if (proc !== undefined) await proc.stop();
  }
}

export interface TrialSetup {
  withZhuge: boolean;
  /** the bottleneck's rate at the start (bit/s), set through the trial's ap agent */
  rateBps: number;
  /** after the rate, before the daemon (e.g. the sender's congestion control) */
  prepare?: () => Promise<void>;
  /** the daemon's config in the arm with zhuge */
  daemon?: DaemonProcOptions;
  /** once the daemon is up, before the settle pause (e.g. wait for its capture taps) */
  daemonReady?: (d: DaemonProc) => Promise<void>;
  /** the pause before the workload (default SETTLE_MS; 0: none) */
  settleMs?: number;
}

/** What the skeleton hands a scenario's workload. */
export interface TrialContext {
  agent: ApAgent;
  daemon: DaemonArm;
  /**
   * (Re-)arms the drop: after delayMs the ap agent sets the rate to rateBps (one rtnetlink
   * request from this process, so its time is known on the mono clock to a fraction of a
   * millisecond). Re-arming cancels the pending drop and forgets an applied one.
   */
  armDrop(delayMs: number, rateBps: number): void;
  /** When the drop was applied (mono ms); NaN until then. */
  dropAtMonoMs(): number;
  /** Why the armed drop failed (the ap agent's error), if it did. */
  dropError(): unknown;
  /** Calls fn every periodMs until stopTimers (or the trial's end). */
  tick(periodMs: number, fn: () => void): void;
  /** Stops the drop timer and the ticker: the workload's traffic is over. */
  stopTimers(): void;
  /** Runs fn when the trial ends, however it ends (e.g. stop a sampler). */
  onCleanup(fn: () => void): void;
}

export async function runTrial<R>(tb: Testbed, setup: TrialSetup, workload: (t: TrialContext) => Promise<R>): Promise<R> {
  const agent = await ApAgent.start(tb);
  let dropTimer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let dropAt = Number.NaN;
  let dropErr: unknown;
  const cleanups: Array<() => void> = [];
  const stopTimers = (): void => {
    clearTimeout(dropTimer);
    clearInterval(ticker);
  };
  try {
    await agent.setRate(setup.rateBps);
    await setup.prepare?.();
    return await withDaemonArm(tb, setup.withZhuge, setup.daemon ?? {}, async (daemon) => {
      if (daemon.proc !== undefined) await setup.daemonReady?.(daemon.proc);
      const settleMs = setup.settleMs ?? SETTLE_MS;
      if (settleMs > 0) await sleep(settleMs);
      try {
        return await workload({
          agent,
          daemon,
          armDrop: (delayMs, rateBps) => {
            clearTimeout(dropTimer);
            dropAt = Number.NaN;
            dropErr = undefined;
            dropTimer = setTimeout(() => {
              agent.setRate(rateBps).then(
                () => (dropAt = monoNowMs()),
                (e: unknown) => (dropErr = e),
              );
            }, delayMs);
          },
          dropAtMonoMs: () => dropAt,
          dropError: () => dropErr,
          tick: (periodMs, fn) => {
            clearInterval(ticker);
            ticker = setInterval(fn, periodMs);
          },
          stopTimers,
          onCleanup: (fn) => cleanups.push(fn),
        });
      } finally {
        // a failed trial (e.g. iperf3 killed) must not leave its timers running: they kept the
        // process alive and printing after the evaluation gave up
        stopTimers();
        for (const fn of cleanups) fn();
      }
    });
  } finally {
    stopTimers();
    agent.close();
  }
}

/** `repeat` interleaved pairs of trials: without, with, without, with, ... */
export async function runPairs<T>(repeat: number, trial: (withZhuge: boolean) => Promise<T>): Promise<T[]> {
  const runs: T[] = [];
  for (let i = 0; i < repeat; i++) {
    for (const withZhuge of [false, true]) runs.push(await trial(withZhuge));
  }
  return runs;
}
