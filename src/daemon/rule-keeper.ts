/**
 * Keeps zhuge's interception rules where the daemon wants them: installs the plan, tracks
 * whether the rules are in place (zhuge_rules_installed, /status, /healthz), hands them to the
 * watchdog's removal after a stall and back on resume, puts them back when something else
 * removed them (rule-reconciler.ts), takes a reload's new plan, and removes them at stop. I/O
 * (iptables) through Interception; the daemon owns the when.
 */
import type { Logger } from 'pino';
import { once } from './logger.js';
import type { Interception } from './interception.js';
import type { Metrics } from './metrics.js';
import type { InterceptionPlan } from './rule-spec.js';
import { RuleReconciler } from './rule-reconciler.js';

/**
 * How often the rules are checked to be still installed (ms): one iptables-save per family each
 * time (~10-30 ms of a child process); a firewall reload is then repaired within 5 s.
 */
export const RULE_CHECK_MS = 5000;

/** The daemon's housekeeping period (ms): tick() is called this often. */
export const TICK_MS = 1000;

/**
 * After a tick that came late by more than half the watchdog's stallMs, the rules are not
 * judged for this long (ms): the loop stalled, the watchdog may have removed the rules and its
 * report is still on its way (a removal seen first would be taken for a firewall's, counted in
 * zhuge_rules_restored_total and fire ZhugeRulesRemovedFromOutside).
 */
export const STALL_GRACE_MS = 2000;

/**
 * A check that finds the rules missing waits this long (ms) before judging: the watchdog writes
 * "removing stall" before its removal runs, so by then its line has been read (the daemon's loop
 * turned at least once with the pipe readable) and the removal is known for the watchdog's. Without
 * it, a check whose listing and the watchdog's line became ready in the same loop turn could take
 * the watchdog's removal for a firewall's (seen once in a clean-clone CI run under a flood).
 */
export const MISSING_CONFIRM_MS = 250;

export class RuleKeeper {
  /** the rules are in place, as far as zhuge knows */
  installed = false;
  /** the rules should be in place: from start, except while the watchdog has them out after a stall */
  private wanted = false;
  private reloading = false;
  /** resume()'s install is in flight: a listing now may still miss the rules */
  private resuming = false;
  private readonly reconciler: RuleReconciler;
  private lastTickMs = Number.NaN;
  private graceUntilMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly rules: Interception,
    /** the plan installed (or to install) */
    private plan: InterceptionPlan,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** true once the daemon stops */
    private readonly stopping: () => boolean,
    /** the watchdog's stallMs */
    private readonly stallMs = 200,
    /** called just before every install (the rules' counters restart), and after every check that read them */
    private readonly counterHooks: { installing?: () => void; checked?: () => void } = {},
    /** waits ms (tests pass an immediate one) */
    private readonly confirmDelay: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.reconciler = new RuleReconciler(RULE_CHECK_MS, {
      isInstalled: async () => {
        const ok = await this.rules.isInstalled();
        this.counterHooks.checked?.();
        if (!ok) await this.confirmDelay(MISSING_CONFIRM_MS);
        return ok;
      },
      reinstall: () => this.install(),
      paused: () => this.stopping() || this.reloading || this.resuming || !this.wanted || this.lastTickMs < this.graceUntilMs,
      missing: () => {
        this.setInstalled(false);
        this.log.warn(`zhuge's interception rules (chain ${this.rules.chain} and its FORWARD jump) were removed by something else (a firewall reload?): installing them again`);
      },
      reinstalled: () => {
        this.metrics.rulesRestored.inc();
        this.log.info('interception rules installed again');
      },
      failed: (what, err) => once(this.log, `reconcile-${what}`, what === 'check' ? 'checking that the rules are still installed failed' : 'installing the removed rules again failed (retried every check; /healthz says rules not installed)', { err: String(err) }, 'error'),
    });
  }

  get spec(): InterceptionPlan {
    return this.plan;
  }

  private setInstalled(on: boolean): void {
    this.installed = on;
    this.metrics.rulesInstalled.set(on ? 1 : 0);
  }

  /** Installs the current plan. */
  async install(): Promise<void> {
    await this.installPlan(this.plan);
    this.setInstalled(true);
  }

  /** Every install goes here: the rules' counters restart, so the hook hears of it first. */
  private async installPlan(plan: InterceptionPlan): Promise<void> {
    this.counterHooks.installing?.();
    await this.rules.install(plan);
  }

  /** At start: installs the plan; from now on the rules are kept in place. */
  async start(): Promise<void> {
    await this.install();
    this.wanted = true;
  }

  /** Each housekeeping tick: checks (every RULE_CHECK_MS) that the rules are still there. */
  tick(nowMs: number): void {
    if (nowMs - this.lastTickMs > TICK_MS + this.stallMs / 2) this.graceUntilMs = nowMs + STALL_GRACE_MS;
    this.lastTickMs = nowMs;
    void this.reconciler.tick(nowMs);
  }

  /** The watchdog is about to remove the rules after a stall: from now on they are not expected. */
  removingByWatchdog(): void {
    this.wanted = false;
  }

  /** The watchdog removed the rules while the process stalled. */
  removedByWatchdog(): void {
    this.wanted = false;
    this.setInstalled(false);
  }

  /** Heartbeats resumed after a stall: the rules go back in. */
  resume(): void {
    this.wanted = true;
    this.resuming = true;
    this.install()
      .catch((err: unknown) => this.log.error({ err: String(err) }, 're-installing the rules failed'))
      .finally(() => {
        this.resuming = false;
      });
  }

  /**
   * A reload's plan: installed when it differs; when that fails the running plan is installed
   * again and the error thrown (the reload is refused, nothing else changes). No check runs meanwhile.
   */
  async replan(next: InterceptionPlan): Promise<void> {
    if (JSON.stringify(next) === JSON.stringify(this.plan)) return;
    this.reloading = true;
    try {
      try {
        await this.installPlan(next);
      } catch (err) {
        await this.install().catch((e: unknown) => this.log.error({ err: String(e) }, 're-installing the running rules failed'));
        throw err;
      }
      this.plan = next;
    } finally {
      this.reloading = false;
    }
  }

  /** At stop: the rules out (a failure is logged), and not put back. */
  async remove(): Promise<void> {
    this.wanted = false;
    try {
      await this.rules.remove();
    } catch (err) {
      this.log.error({ err: String(err) }, 'removing the rules failed');
    }
    this.setInstalled(false);
  }
}
