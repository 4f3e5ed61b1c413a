/**
 * Keeps the fail-open watchdog running for the daemon: starts it with the interception's removal
 * and check commands, reports its events, and starts it again when it exits, within the restart
 * budget (5 in 60 s); past that the daemon is told to stop, failing open (docs/operations.md).
 */
import type { Logger } from 'pino';
import type { Interception } from './interception.js';
import { RestartBudget } from './restart-budget.js';
import { Watchdog } from './watchdog.js';

export interface WatchdogKeeperEvents {
  /** the watchdog is about to remove the rules after a stall (its outcome follows) */
  removing(): void;
  /** the watchdog removed the rules during a stall (checked) */
  rulesRemoved(): void;
  /** the removal ran but the rules are still there */
  removeFailed(): void;
  /** heartbeats came back after a stall: re-install the rules */
  resumed(): void;
  /** the watchdog keeps dying: stop, failing open */
  fatal(reason: string): void;
  /** whether the daemon is stopping (an exit then is expected: no restart) */
  stopping(): boolean;
}

export class WatchdogKeeper {
  private watchdog: Watchdog | undefined;
  private readonly restarts = new RestartBudget();
  private stopping = false;

  constructor(
    private readonly rules: Interception,
    private readonly stallMs: number,
    private readonly log: Logger,
    private readonly on: WatchdogKeeperEvents,
    /** run after the rules' removal when the daemon dies or stalls (the REMB lifts: cap-lift-file.ts) */
    private readonly extraCommands: readonly string[] = [],
  ) {}

  async start(): Promise<void> {
    const wd = await Watchdog.start({ removeCommands: [...this.rules.removeCommand(), ...this.extraCommands], checkCommand: this.rules.goneCheckCommand(), stallMs: this.stallMs });
    this.watchdog = wd;
    wd.on('removing', () => this.on.removing());
    wd.on('rulesRemoved', () => this.on.rulesRemoved());
    wd.on('removeFailed', () => this.on.removeFailed());
    wd.on('resumed', () => this.on.resumed());
    wd.on('exit', (code, signal) => {
      this.watchdog = undefined;
      if (this.stopping || this.on.stopping()) return;
      this.restart(`the watchdog exited (code ${String(code)}, signal ${String(signal)})`);
    });
  }

  /** Normal stop: after the rules are out. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.watchdog?.stop().catch((err: unknown) => this.log.error({ err: String(err) }, 'stopping the watchdog failed'));
    this.watchdog = undefined;
  }

  /** Within the restart budget the watchdog is started again, else the daemon is told to stop. */
  private restart(why: string): void {
    if (this.stopping || this.on.stopping()) return;
    const b = this.restarts;
    if (!b.allow(Date.now())) {
      this.on.fatal(`the watchdog exited ${b.max + 1} times within ${b.windowMs / 1000} s (last: ${why})`);
      return;
    }
    this.log.error(`${why}: restarting it`);
    this.start().catch((err: unknown) => this.restart(`could not start the watchdog (${String(err)})`));
  }
}
