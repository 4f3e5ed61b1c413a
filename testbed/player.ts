/**
 * Trace player and ap-namespace tc agent. Runs INSIDE the ap namespace (its rtnetlink socket
 * must live there): `ip netns exec <p>-ap node dist/testbed/player.js <mode> ...`.
 *
 *   play  --dev D [--classid 1:1] (--trace FILE | --profile SPEC | --schedule FILE.json) [--max-s S]
 *         changes the htb class rate at every step (timer-driven; each timer is armed against the
 *         absolute target on the monotonic clock, so lateness never accumulates) and prints one
 *         JSON line per applied step: {"event":"step","i","atMs","rateBps","targetUs","issuedUs",
 *         "ackUs","lateMs","costUs"} (µs on this process's monotonic clock, relative to the start),
 *         then {"event":"done"}.
 *   agent --dev D [--classid 1:1]
 *         reads JSON commands on stdin, one a line, answers one JSON line each:
 *         {"op":"rate","rateBps"} · {"op":"stats"} · {"op":"classes"} · {"op":"bench","n"}.
 *
 * The parent side (ApAgent, playSchedule) spawns these through Testbed.spawn.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { monoNowUs } from '../src/daemon/clock.js';
import { TcNetlink, parseTcHandle, measureUs, type QdiscStats } from '../src/daemon/rtnetlink.js';
import { parseProfile, parseTrace, truncate, type Schedule } from './trace.js';
import type { Testbed } from './topology.js';
import { distScript } from './scripts.js';

export interface StepLog {
  i: number;
  atMs: number;
  rateBps: number;
  /** µs since play start (monotonic) */
  targetUs: number;
  issuedUs: number;
  ackUs: number;
  lateMs: number;
  costUs: number;
}

/**
 * Plays `schedule` through `setRate`; `onStep` gets each applied step. Resolves at the end of
 * the schedule. setTimeout can fire a fraction of a ms early against performance.now(): such a
 * wake-up re-arms for the remainder instead of applying early.
 */
export function playSchedule(
  schedule: Schedule,
  setRate: (rateBps: number) => Promise<void>,
  onStep: (s: StepLog) => void,
  now: () => number = monoNowUs,
): Promise<void> {
  const t0 = now();
  return new Promise<void>((resolve, reject) => {
    let i = 0;
    const arm = (): void => {
      const step = schedule.steps[i];
      if (step === undefined) {
        const endUs = t0 + schedule.durationMs * 1000;
        setTimeout(resolve, Math.max(0, (endUs - now()) / 1000));
        return;
      }
      const targetUs = t0 + step.atMs * 1000;
      const fire = (): void => {
        const n = now();
        if (n < targetUs - 200) {
          setTimeout(fire, (targetUs - n) / 1000);
          return;
        }
        setRate(step.rateBps).then(
          () => {
            const ack = now();
            onStep({
              i,
              atMs: step.atMs,
              rateBps: step.rateBps,
              targetUs: targetUs - t0,
              issuedUs: n - t0,
              ackUs: ack - t0,
              lateMs: (n - targetUs) / 1000,
              costUs: ack - n,
            });
            i++;
            arm();
          },
          (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
        );
      };
      setTimeout(fire, Math.max(0, (targetUs - now()) / 1000));
    };
    arm();
  });
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function loadSchedule(argv: string[]): Schedule {
  const trace = argValue(argv, '--trace');
  const profile = argValue(argv, '--profile');
  const sched = argValue(argv, '--schedule');
  let s: Schedule;
  if (trace !== undefined) s = parseTrace(readFileSync(trace, 'utf8'));
  else if (profile !== undefined) s = parseProfile(profile);
  else if (sched !== undefined) s = JSON.parse(readFileSync(sched, 'utf8')) as Schedule;
  else throw new Error('play needs --trace FILE, --profile SPEC or --schedule FILE.json');
  const maxS = argValue(argv, '--max-s');
  return maxS !== undefined ? truncate(s, Number(maxS) * 1000) : s;
}

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [mode, ...rest] = argv;
  const dev = argValue(rest, '--dev');
  if ((mode !== 'play' && mode !== 'agent') || dev === undefined) {
    process.stderr.write('usage: player.js play|agent --dev DEV [--classid 1:1] ...\n');
    return 2;
  }
  const classid = parseTcHandle(argValue(rest, '--classid') ?? '1:1');
  const nl = TcNetlink.open();
  try {
    const ifindex = await nl.ifindex(dev);
    const setRate = (rateBps: number): Promise<void> => nl.setHtbRate(ifindex, classid, { rateBps });
    if (mode === 'play') {
      const schedule = loadSchedule(rest);
      out({ event: 'ready', steps: schedule.steps.length, durationMs: schedule.durationMs });
      await playSchedule(schedule, setRate, (s) => out({ event: 'step', ...s }));
      out({ event: 'done' });
      return 0;
    }
    out({ event: 'ready' });
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      if (line.trim() === '') continue;
      let reply: Record<string, unknown>;
      try {
        const cmd = JSON.parse(line) as { op?: string; rateBps?: number; n?: number; id?: unknown };
        const t = monoNowUs();
        if (cmd.op === 'rate' && typeof cmd.rateBps === 'number') {
          await setRate(cmd.rateBps);
          reply = { ok: true, costUs: monoNowUs() - t };
        } else if (cmd.op === 'stats') {
          reply = { ok: true, qdiscs: await nl.qdiscStats(ifindex), costUs: monoNowUs() - t };
        } else if (cmd.op === 'classes') {
          reply = { ok: true, classes: await nl.htbClasses(ifindex) };
        } else if (cmd.op === 'bench') {
          const n = cmd.n ?? 200;
          const cur = (await nl.htbClasses(ifindex)).find((c) => c.classid === classid);
          const rateBps = (cur?.parms.rateBytesPerSec ?? 1_250_000) * 8;
          reply = {
            ok: true,
            rateChangeUs: await measureUs(n, () => setRate(rateBps)),
            statsReadUs: await measureUs(n, () => nl.qdiscStats(ifindex)),
          };
        } else reply = { ok: false, error: `unknown command ${line}` };
        if (cmd.id !== undefined) reply['id'] = cmd.id;
      } catch (e) {
        reply = { ok: false, error: String(e) };
      }
      out(reply);
    }
    return 0;
  } finally {
    nl.close();
  }
}

// ---- parent side ------------------------------------------------------------------------------

function lines(child: ChildProcess, onLine: (l: string) => void): void {
  if (child.stdout === null) throw new Error('child has no stdout');
  createInterface({ input: child.stdout }).on('line', onLine);
}

/** A persistent tc agent in the ap namespace (rate changes and qdisc reads over rtnetlink). */
export class ApAgent {
  private waiting: Array<(r: Record<string, unknown>) => void> = [];
  private stderr = '';
  private constructor(private readonly child: ChildProcess) {}

  static start(tb: Testbed): Promise<ApAgent> {
    const child = tb.spawn('ap', process.execPath, [
      distScript('player'),
      'agent',
      '--dev',
      tb.ifaces.apWlan,
      '--classid',
      tb.d.bottleneck.classid,
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    const agent = new ApAgent(child);
    child.stderr?.on('data', (b: Buffer) => (agent.stderr += b.toString()));
    return new Promise((resolve, reject) => {
      let ready = false;
      lines(child, (l) => {
        const msg = JSON.parse(l) as Record<string, unknown>;
        if (!ready) {
          ready = true;
          resolve(agent);
          return;
        }
        agent.waiting.shift()?.(msg);
      });
      child.on('exit', (code) => {
        if (!ready) reject(new Error(`ap agent exited (${String(code)}): ${agent.stderr}`));
        for (const w of agent.waiting.splice(0)) w({ ok: false, error: `agent exited: ${agent.stderr}` });
      });
    });
  }

  request(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiting.push((r) => (r['ok'] === true ? resolve(r) : reject(new Error(String(r['error'])))));
      this.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  async setRate(rateBps: number): Promise<number> {
    const r = await this.request({ op: 'rate', rateBps });
    return Number(r['costUs']);
  }

  async stats(): Promise<QdiscStats[]> {
    const r = await this.request({ op: 'stats' });
    return r['qdiscs'] as QdiscStats[];
  }

  async classRateBps(): Promise<number | undefined> {
    const r = await this.request({ op: 'classes' });
    const cls = r['classes'] as Array<{ classid: number; parms: { rateBytesPerSec: number } }>;
    const c = cls[0];
    return c === undefined ? undefined : c.parms.rateBytesPerSec * 8;
  }

  async bench(n: number): Promise<{ rateChangeUs: number; statsReadUs: number }> {
    const r = await this.request({ op: 'bench', n });
    return { rateChangeUs: Number(r['rateChangeUs']), statsReadUs: Number(r['statsReadUs']) };
  }

  close(): void {
    this.child.stdin?.end();
    if (this.child.pid !== undefined && this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

export type ScheduleSource = { trace: string } | { profile: string } | { schedule: Schedule };

/** Plays a schedule in the ap namespace; resolves with the applied steps when it ends. */
export function playInAp(
  tb: Testbed,
  src: ScheduleSource,
  opts: { maxS?: number; onStep?: (s: StepLog) => void } = {},
): { done: Promise<StepLog[]>; child: ChildProcess } {
  const args = [distScript('player'), 'play', '--dev', tb.ifaces.apWlan, '--classid', tb.d.bottleneck.classid];
  let tmp: string | undefined;
  if ('trace' in src) args.push('--trace', src.trace);
  else if ('profile' in src) args.push('--profile', src.profile);
  else {
    tmp = mkdtempSync(join(tmpdir(), 'zhuge-sched-'));
    const f = join(tmp, 'schedule.json');
    writeFileSync(f, JSON.stringify(src.schedule));
    args.push('--schedule', f);
  }
  if (opts.maxS !== undefined) args.push('--max-s', String(opts.maxS));
  const child = tb.spawn('ap', process.execPath, args);
  const steps: StepLog[] = [];
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  lines(child, (l) => {
    const msg = JSON.parse(l) as { event?: string } & StepLog;
    if (msg.event === 'step') {
      const { event: _e, ...s } = msg;
      steps.push(s);
      opts.onStep?.(s);
    }
  });
  const done = new Promise<StepLog[]>((resolve, reject) => {
    child.on('exit', (code) => {
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
      if (code === 0) resolve(steps);
      else reject(new Error(`player exited ${String(code)}: ${stderr}`));
    });
  });
  return { done, child };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`player: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
