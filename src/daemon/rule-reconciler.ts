/**
 * Checks that zhuge's interception rules are still in place while it believes them installed,
 * and puts them back when something else removed them. A firewall reload (fw3's `firewall
 * restart`, a script running `iptables -F FORWARD`, another tool rebuilding the filter table)
 * takes the FORWARD jump away: uplink feedback then flows untreated while zhuge_rules_installed
 * still says 1 and /healthz says ok. Each check lists the filter table (one iptables-save per
 * family), so it runs every `everyMs`, not per tick.
 *
 * Policy (the I/O is the caller's): when the check finds the rules missing, say so once per
 * episode, mark them not installed (so /healthz answers 503 "rules not installed" and the gauge
 * is 0), and install them again; a failed install is retried at the next check. A check or an
 * install in flight is never overlapped, and nothing is checked while `paused()` (stopping, a
 * reload in progress, the watchdog's own removal after a stall).
 */
export interface RuleReconcilerHooks {
  /** are the rules installed now? (iptables-save) */
  isInstalled(): Promise<boolean>;
  /** install them again */
  reinstall(): Promise<void>;
  /** true while the check must not run */
  paused(): boolean;
  /** the rules were found missing (once per episode) */
  missing(): void;
  /** put back after being found missing */
  reinstalled(): void;
  /** a check or a reinstall failed (retried at the next check) */
  failed(what: 'check' | 'reinstall', err: unknown): void;
}

export class RuleReconciler {
  private busy = false;
  private lastMs = Number.NEGATIVE_INFINITY;
  /** inside an episode: found missing and not yet put back */
  private missingNow = false;
  /** checks made, episodes found, reinstalls that worked */
  checks = 0;
  found = 0;
  repaired = 0;

  constructor(
    private readonly everyMs: number,
    private readonly hooks: RuleReconcilerHooks,
  ) {}

  /** Called on every housekeeping tick; starts a check when one is due. Resolves when it ends. */
  async tick(nowMs: number): Promise<void> {
    if (this.busy || this.hooks.paused() || nowMs - this.lastMs < this.everyMs) return;
    this.busy = true;
    this.lastMs = nowMs;
    try {
      let ok: boolean;
      try {
        ok = await this.hooks.isInstalled();
      } catch (err) {
        this.hooks.failed('check', err);
        return;
      }
      this.checks++;
      // a stop, a reload or the watchdog may have started while iptables-save ran
      if (ok || this.hooks.paused()) return;
      if (!this.missingNow) {
        this.missingNow = true;
        this.found++;
        this.hooks.missing();
      }
      try {
        await this.hooks.reinstall();
      } catch (err) {
        this.hooks.failed('reinstall', err);
        return;
      }
      this.missingNow = false;
      this.repaired++;
      this.hooks.reinstalled();
    } finally {
      this.busy = false;
    }
  }
}
