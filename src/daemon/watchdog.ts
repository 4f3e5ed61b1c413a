/**
 * Fail-open watchdog: a separate small process, outside the daemon's event loop, that removes
 * zhuge's iptables rules whenever the daemon cannot give verdicts.
 *
 *   daemon ──'h' every 50 ms──▶ watchdog stdin        no 'h' for > stallMs (200 ms): the daemon
 *          ◀─'removed stall'─── watchdog stdout       is stalled (SIGSTOP, blocked event loop):
 *          ◀─'resumed'─────────                       run the removal commands (traffic flows)
 *          ──'b' (bye)────────▶ exit 0, no action     stdin EOF without bye (crash, kill -9,
 *                                                     OOM): run the removal commands and exit
 *
 * Behaviour after a stall: the watchdog removes the rules once per stall and writes
 * 'removed stall'; the daemon reads that line as soon as its event loop runs again and this
 * class emits 'rulesRemoved' — the daemon then re-installs its rules (IptablesRules.install) and
 * carries on (the watchdog also writes 'resumed' on the first heartbeat after the stall, emitted
 * as 'resumed'). Packets already in the kernel queue during the stall were held, not lost: the
 * daemon still gives their verdicts when it resumes.
 *
 * The watchdog is spawned detached (own process group: a Ctrl-C to the daemon's group does not
 * kill it before it cleans up). It is native/watchdog/zhuge-watchdog.c when built (about 1 MB
 * resident; measured: a second Node.js process took 41.7 MiB), else the same protocol as a
 * `node -e` program (watchdog-child.ts), which runs the same from src/ and dist/. Normal stop: remove the rules yourself, then stop() sends the bye and
 * waits for the watchdog to exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './nfqueue.js';
import { WATCHDOG_CHILD_SOURCE } from './watchdog-child.js';

export interface WatchdogOptions {
  /** /bin/sh command lines removing the rules (IptablesRules.removeCommand()) */
  removeCommands: readonly string[];
  /** a /bin/sh line exiting 0 once the rules are gone (IptablesRules.goneCheckCommand()); without it the removal is not verified */
  checkCommand?: string;
  /** no heartbeat for longer than this = stalled (default 200 ms) */
  stallMs?: number;
  /** heartbeat period (default 50 ms) */
  heartbeatMs?: number;
  /** node binary (default process.execPath) */
  nodePath?: string;
  /**
   * 'native': native/watchdog/build/zhuge-watchdog (about 1 MB resident); 'node': a second Node.js
   * process running watchdog-child.ts (about 40 MB). Default: native when it is built, else node.
   */
  impl?: 'native' | 'node';
}

/** Where build-native.sh puts the native watchdog. */
export function nativeWatchdogPath(): string {
  return join(packageRoot(), 'native/watchdog/build/zhuge-watchdog');
}

export interface WatchdogEvents {
  /** the removal is about to run (its outcome follows as rulesRemoved or removeFailed) */
  removing: [reason: 'stall'];
  rulesRemoved: [reason: 'stall'];
  /** the removal ran but the check still found the rules (four attempts) */
  removeFailed: [reason: 'stall'];
  resumed: [];
  /** the watchdog process ended on its own (not via stop()): protection is gone */
  exit: [code: number | null, signal: NodeJS.Signals | null];
}

/** argv + env that start a watchdog process (exported for tests that drive it from another process). */
export function watchdogCommand(opts: WatchdogOptions): { argv: string[]; env: Record<string, string> } {
  const native = nativeWatchdogPath();
  if (opts.impl === 'native' || (opts.impl === undefined && existsSync(native))) {
    return { argv: [native, String(opts.stallMs ?? 200), opts.checkCommand ?? '', ...opts.removeCommands], env: {} };
  }
  return {
    argv: [opts.nodePath ?? process.execPath, '--max-old-space-size=16', '-e', WATCHDOG_CHILD_SOURCE],
    env: {
      ZHUGE_WD_CMDS: JSON.stringify(opts.removeCommands),
      ZHUGE_WD_CHECK: opts.checkCommand ?? '',
      ZHUGE_WD_STALL_MS: String(opts.stallMs ?? 200),
    },
  };
}

export class Watchdog extends EventEmitter<WatchdogEvents> {
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;
  /** stall removals reported by the watchdog */
  stallRemovals = 0;

  private constructor(
    private readonly child: ChildProcess,
    private readonly heartbeatMs: number,
  ) {
    super();
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.clearTimer();
        if (!this.stopping) this.emit('exit', code, signal);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Spawns the watchdog, waits until it is armed, starts the heartbeat. */
  static async start(opts: WatchdogOptions): Promise<Watchdog> {
    const { argv, env } = watchdogCommand(opts);
    const [cmd, ...args] = argv as [string, ...string[]];
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, ...env },
    });
    const wd = new Watchdog(child, opts.heartbeatMs ?? 50);
    child.stdin?.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let ready = false;
      const onExit = (code: number | null): void => {
        if (!ready) reject(new Error(`watchdog exited before it was ready (code ${String(code)})`));
      };
      child.once('exit', onExit);
      child.once('error', (e) => reject(e));
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === 'ready' && !ready) {
            ready = true;
            child.off('exit', onExit);
            resolve();
          } else if (line === 'removing stall') {
            wd.emit('removing', 'stall');
          } else if (line === 'removed stall') {
            wd.stallRemovals++;
            wd.emit('rulesRemoved', 'stall');
          } else if (line === 'remove failed stall') {
            wd.emit('removeFailed', 'stall');
          } else if (line === 'resumed') {
            wd.emit('resumed');
          }
        }
      });
    });
    wd.startHeartbeat();
    // the pipes and the process must not keep the daemon alive on their own
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
    (child.stdin as { unref?: () => void } | null)?.unref?.();
    return wd;
  }

  private startHeartbeat(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  private beat(): void {
    if (this.exited || this.stopping) return;
    this.child.stdin?.write('h');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Normal stop: call after removing the rules yourself. Sends the bye, waits for the watchdog to
   * exit (kills it after timeoutMs). Idempotent.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.clearTimer();
      if (!this.exited) {
        this.child.stdin?.write('b');
        this.child.stdin?.end();
      }
    }
    if (this.exited) return;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      t = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.exitPromise, timeout]);
    if (t !== undefined) clearTimeout(t);
  }
}
