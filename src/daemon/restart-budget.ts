/**
 * How often a helper process may be restarted: at most `max` restarts within `windowMs`. The
 * watchdog child is restarted when it exits (daemon.ts); one that keeps dying (a broken iptables,
 * a full process table) must not be respawned forever while no watchdog protects the uplink: past
 * the budget the daemon stops, failing open, and exits 1 (docs/operations.md). Pure: time passed in.
 */
export class RestartBudget {
  private readonly atMs: number[] = [];

  constructor(
    readonly max = 5,
    readonly windowMs = 60_000,
  ) {}

  /** A restart is wanted at nowMs: true (counted) when within the budget. */
  allow(nowMs: number): boolean {
    while (this.atMs.length > 0 && nowMs - (this.atMs[0] ?? nowMs) >= this.windowMs) this.atMs.shift();
    if (this.atMs.length >= this.max) return false;
    this.atMs.push(nowMs);
    return true;
  }

  /** restarts counted within the window ending at nowMs */
  recent(nowMs: number): number {
    return this.atMs.filter((t) => nowMs - t < this.windowMs).length;
  }
}
