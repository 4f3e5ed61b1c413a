/**
 * Logging: pino, JSON lines on stdout (systemd's journal / OpenWrt's logread pick them up).
 *
 * - One root logger per process (`createLogger`), one child per module (`childLogger(root,
 *   'nfqueue')` adds `module: "nfqueue"` to every line). Never create a logger per packet or
 *   per flow: pass the flow as a field instead.
 * - Per-packet conditions (a malformed packet, an unknown RTP extension) must not log per
 *   packet: count them in a metric and log the first occurrence with `once(logger, key, ...)`.
 * - stdout is written asynchronously (pino.destination with `sync: false`: a blocked terminal or
 *   a slow journal must not stall the packet path). Lines still buffered when the process ends
 *   would be lost, so:
 *     * on a clean shutdown, `await flushLogger(root)` (wraps `logger.flush(cb)`) before exiting;
 *     * `installExitFlush(root)` also flushes synchronously from `process.on('exit')`
 *       (`SonicBoom.flushSync()`), for paths that end with process.exit().
 *   pino.final() was removed in pino v7+ (it is gone in 9 and 10); `logger.flush(cb)` and
 *   the destination's `flushSync()` are the supported ways.
 */
import { fstatSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/index.js';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  /** Where JSON lines go; default: asynchronous stdout (fd 1). Tests pass a memory stream. */
  destination?: DestinationStream;
  /** Fields on every line (e.g. { service: 'zhuge' }). */
  base?: Record<string, unknown>;
  /**
   * Start each line with its syslog priority, `<3>` for an error, as systemd's journal reads it
   * from a service's stdout (SyslogLevelPrefix=, on by default): `journalctl -p err` then finds
   * the errors. Default: on when stdout is the journal (systemd sets JOURNAL_STREAM).
   */
  syslogPrefix?: boolean;
  /**
   * Lines at this level or above go to stderr instead of stdout (config `log.stderrLevel`): a
   * supervisor that logs a service's two streams at two priorities (OpenWrt's procd: stdout at
   * info, stderr at err) then tells errors apart. Default: everything on stdout.
   */
  stderrLevel?: 'warn' | 'error' | 'fatal';
  /** Where the stderr lines go; default asynchronous stderr (fd 2). Tests pass a memory stream. */
  errorDestination?: DestinationStream;
}

/** pino's numeric levels -> syslog priorities (trace and debug 7, info 6, warn 4, error 3, fatal 2). */
export function syslogPriority(pinoLevel: number): number {
  return pinoLevel >= 60 ? 2 : pinoLevel >= 50 ? 3 : pinoLevel >= 40 ? 4 : pinoLevel >= 30 ? 6 : 7;
}

/**
 * Whether fd 1 is the journal: systemd sets JOURNAL_STREAM to "device:inode" of the stream it
 * gave the service; a child whose stdout is a pipe inherits the variable, not the stream.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const js = env['JOURNAL_STREAM'];
  if (js === undefined) return false;
  try {
    const st = fstatSync(1);
    return js === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/** `<N>` + the line, N from the line's "level" label (the formatter writes labels). */
export function withSyslogPrefix(line: string): string {
  const m = /"level":"(\w+)"/.exec(line);
  const n = m === null ? 6 : syslogPriority(pino.levels.values[m[1] ?? 'info'] ?? 30);
  return `<${n}>${line}`;
}

/** The SonicBoom destination behind each root logger we created, for synchronous flushing. */
const destinations = new WeakMap<Logger, { flushSync?: () => void }>();

export function createLogger(level: LogLevel = 'info', opts: CreateLoggerOptions = {}): Logger {
  const out = opts.destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 });
  let dest: DestinationStream = out;
  if (opts.stderrLevel !== undefined) {
    const err = opts.errorDestination ?? pino.destination({ dest: 2, sync: false, minLength: 0 });
    // dedupe: a line goes only to the stream of the highest level it reaches
    const ms = pino.multistream(
      [
        { level: 'trace', stream: out },
        { level: opts.stderrLevel, stream: err },
      ],
      { dedupe: true },
    );
    const flushAll = (): void => {
      for (const d of [out, err] as Array<{ flushSync?: () => void }>) d.flushSync?.();
    };
    dest = Object.assign(ms, { flushSync: flushAll });
  }
  const logger = pino(
    {
      level,
      base: { service: 'zhuge', pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...((opts.syslogPrefix ?? stdoutIsJournal()) ? { hooks: { streamWrite: withSyslogPrefix } } : {}),
    },
    dest,
  );
  destinations.set(logger, dest as { flushSync?: () => void });
  return logger;
}

/** One child per module: `{"module":"<name>"}` on every line it writes. */
export function childLogger(root: Logger, module: string): Logger {
  return root.child({ module });
}

const seen = new WeakMap<Logger, Set<string>>();
const MAX_ONCE_KEYS = 1024;

/**
 * Logs `msg` (at warn, or `level`) the first time `key` is seen on this logger, and returns
 * true then; later calls return false and log nothing. For per-packet conditions: count every
 * occurrence in a metric, log the first one with its details. Bounded: at most 1024 distinct
 * keys are remembered per logger (keys must be reason codes, never per-flow strings); beyond
 * that, further new keys are not logged.
 */
export function once(logger: Logger, key: string, msg: string, obj: Record<string, unknown> = {}, level: 'warn' | 'info' | 'error' | 'debug' = 'warn'): boolean {
  let keys = seen.get(logger);
  if (keys === undefined) {
    keys = new Set();
    seen.set(logger, keys);
  }
  if (keys.has(key) || keys.size >= MAX_ONCE_KEYS) return false;
  keys.add(key);
  logger[level]({ ...obj, onceKey: key, note: 'logged once; further occurrences are only counted' }, msg);
  return true;
}

/** Forgets the `once` keys of a logger (after a config reload, say, so new problems are logged again). */
export function resetOnce(logger: Logger): void {
  seen.delete(logger);
}

/** Resolves when everything logged so far is written (asynchronous flush of the destination). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush((err?: Error) => {
        void err; // a closed stdout cannot be helped at exit
        resolve();
      });
    } catch {
      resolve();
    }
  });
}

/** Flushes synchronously from `process.on('exit')` (where nothing asynchronous runs anymore). */
export function installExitFlush(root: Logger): () => void {
  const handler = (): void => {
    const dest = destinations.get(root);
    try {
      dest?.flushSync?.();
    } catch {
      // destination not ready or already closed: nothing more can be written
    }
  };
  process.on('exit', handler);
  return () => process.off('exit', handler);
}

/** Runs one step of a shutdown: its failure is logged at error, never thrown (the next steps run). */
export function logFailure(logger: Logger, what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    logger.error({ err: String(err) }, `${what} failed`);
  }
}

/** logFailure for an async step: a rejection is logged at error, never thrown. */
export async function logFailureAsync(logger: Logger, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    logger.error({ err: String(err) }, `${what} failed`);
  }
}

/**
 * At most `perWindow` log lines per `windowMs` for an event kind that traffic can trigger (a
 * forged packet must not be able to write one line per packet); the lines left out are counted
 * and said in the first line of the next window.
 */
export class LogBudget {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private used = 0;
  /** lines left out in the current window, and in all */
  suppressed = 0;
  suppressedTotal = 0;

  constructor(
    private readonly perWindow = 20,
    private readonly windowMs = 60_000,
  ) {}

  /** Whether a line may be written at nowMs; when it may, `left` is how many were left out before it. */
  take(nowMs: number): { ok: boolean; left: number } {
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.used = 0;
    }
    if (this.used >= this.perWindow) {
      this.suppressed++;
      this.suppressedTotal++;
      return { ok: false, left: 0 };
    }
    this.used++;
    const left = this.suppressed;
    this.suppressed = 0;
    return { ok: true, left };
  }

  /** Logs at info within the budget (with `notLogged`: the lines left out just before). */
  info(logger: Logger, nowMs: number, obj: Record<string, unknown>, msg: string): void {
    this.line(logger, 'info', nowMs, obj, msg);
  }

  /** Logs at `level` within the budget (with `notLogged`: the lines left out just before). */
  line(logger: Logger, level: 'info' | 'warn' | 'error', nowMs: number, obj: Record<string, unknown>, msg: string): void {
    const b = this.take(nowMs);
    if (b.ok) logger[level](b.left > 0 ? { ...obj, notLogged: b.left } : obj, msg);
  }
}
