/**
 * Traffic and measurement helpers on a testbed. Downlink = srv → cli: the iperf3 server runs in
 * cli, the client (the sender) in srv. Every timestamp is on one clock: this process's monotonic
 * clock in ms (src/daemon/clock.ts monoNowUs()/1000); wall-clock stamps from ping/date are
 * converted with WallToMono. Every helper is bounded in time and kills what it started (its own
 * process group, by pid) on exit.
 *
 * iperf3 intervals are relative to the test start; their mono time is the client's spawn time
 * plus the interval offset — `ip netns exec` + exec + connect take a few ms, so interval times are
 * late by that much (documented, not corrected).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WallToMono, monoNowUs } from '../src/daemon/clock.js';
import { distScript } from './scripts.js';
import type { Testbed, Role } from './topology.js';

export const monoNowMs = (): number => monoNowUs() / 1000;

/** Resolves after ms milliseconds (at once for ms <= 0). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Signals a process group started by spawnGroup (falls back to the process; gone is fine). */
export function killGroup(child: ChildProcess, sig: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // gone
    }
  }
}

/** A command in a testbed namespace, in its own process group (killGroup reaches its children). */
export function spawnGroup(tb: Testbed, role: Role, cmd: string, args: string[], stdout: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  return tb.spawn(role, cmd, args, { detached: true, stdio: ['ignore', stdout, 'pipe'] });
}

/**
 * Resolves with the exit code once the process has exited AND its output pipes are drained
 * ('close'; 'exit' alone can come first: a clean-clone CI run parsed iperf3's JSON cut at 124 KB),
 * waiting at most 2 s for the pipes after the exit (a grandchild may hold them open).
 */
export function waitExit(child: ChildProcess): Promise<number | null> {
  const drained = (s: NodeJS.ReadableStream | null): boolean => s === null || (s as { destroyed?: boolean }).destroyed === true;
  const closed = new Promise<void>((r) => {
    if (drained(child.stdout) && drained(child.stderr)) r();
    else child.once('close', () => r());
  });
  const exited =
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return exited.then(async (code) => {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((r) => (t = setTimeout(r, 2000)))]);
    clearTimeout(t);
    return code;
  });
}

// ---- iperf3 ---------------------------------------------------------------------------------

export interface IperfInterval {
  /** mono ms of the interval's start/end (spawn time + iperf offset) */
  startMs: number;
  endMs: number;
  bps: number;
  rttUs?: number;
  cwndBytes?: number;
  retransmits?: number;
}

export interface IperfResult {
  startMonoMs: number;
  /** sender-side intervals (srv): bytes written, rtt, cwnd */
  sender: IperfInterval[];
  /** receiver-side intervals (cli): what arrived */
  receiver: IperfInterval[];
  sentBytes: number;
  receivedBytes: number;
  /** received bytes over the receiver's duration, bit/s */
  receiverBps: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function intervalsOf(report: Json, startMonoMs: number): IperfInterval[] {
  const out: IperfInterval[] = [];
  for (const ivRaw of arr(report['intervals'])) {
    const iv = obj(ivRaw);
    const sum = obj(iv['sum']);
    const s = num(sum['start']);
    const e = num(sum['end']);
    const bps = num(sum['bits_per_second']);
    if (s === undefined || e === undefined || bps === undefined) continue;
    const x: IperfInterval = { startMs: startMonoMs + s * 1000, endMs: startMonoMs + e * 1000, bps };
    const st = obj(arr(iv['streams'])[0]);
    const rtt = num(st['rtt']);
    const cwnd = num(st['snd_cwnd']);
    const rtx = num(st['retransmits']);
    if (rtt !== undefined) x.rttUs = rtt;
    if (cwnd !== undefined) x.cwndBytes = cwnd;
    if (rtx !== undefined) x.retransmits = rtx;
    out.push(x);
  }
  return out;
}

/** Parses `iperf3 --json --get-server-output` of the sending client. */
export function parseIperfJson(text: string, startMonoMs: number): IperfResult {
  const j = obj(JSON.parse(text));
  if (typeof j['error'] === 'string') throw new Error(`iperf3: ${j['error']}`);
  const end = obj(j['end']);
  const sent = obj(end['sum_sent']);
  const recv = obj(end['sum_received']);
  const server = obj(j['server_output_json']);
  return {
    startMonoMs,
    sender: intervalsOf(j, startMonoMs),
    receiver: intervalsOf(server, startMonoMs),
    sentBytes: num(sent['bytes']) ?? 0,
    receivedBytes: num(recv['bytes']) ?? 0,
    receiverBps: num(recv['bits_per_second']) ?? 0,
  };
}

export interface IperfOptions {
  durationS: number;
  /** congestion control of the sender (-C) */
  cc?: string;
  intervalS?: number;
  port?: number;
}

/** One bulk TCP download srv → cli. */
export async function iperfDownload(tb: Testbed, opts: IperfOptions): Promise<IperfResult> {
  return iperfDownloadWithArgs(tb, opts, []);
}

// ---- ping -----------------------------------------------------------------------------------

export interface RttSample {
  /** mono ms */
  tMs: number;
  rttMs: number;
  seq?: number;
}

const PING_RE = /^\[(\d+\.\d+)\].*icmp_seq=(\d+).*time=([\d.]+) ms/;

/** Parses one `ping -D` reply line (wall-clock stamp converted to mono ms). */
export function parsePingLine(line: string, w2m: WallToMono): RttSample | undefined {
  const m = PING_RE.exec(line);
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  return { tMs: w2m.toMono(Number(m[1]) * 1e6) / 1000, rttMs: Number(m[3]), seq: Number(m[2]) };
}

/** ping from `from` to `toAddr` every `intervalMs` (default 10) for `durationMs`. */
export async function pingProbe(
  tb: Testbed,
  opts: { durationMs: number; intervalMs?: number; from?: Role; to?: string; sizeBytes?: number },
): Promise<RttSample[]> {
  const w2m = new WallToMono();
  const iv = (opts.intervalMs ?? 10) / 1000;
  const args = ['-n', '-D', '-i', String(iv), '-w', String(Math.ceil(opts.durationMs / 1000)), '-W', '1'];
  if (opts.sizeBytes !== undefined) args.push('-s', String(opts.sizeBytes));
  args.push(opts.to ?? tb.addrs.cli);
  const child = spawnGroup(tb, opts.from ?? 'srv', 'ping', args);
  const out: RttSample[] = [];
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const s = parsePingLine(l, w2m);
      if (s !== undefined) out.push(s);
    });
  }
  const t = setTimeout(() => killGroup(child, 'SIGINT'), opts.durationMs);
  const guard = setTimeout(() => killGroup(child, 'SIGKILL'), opts.durationMs + 3000);
  await waitExit(child);
  clearTimeout(t);
  clearTimeout(guard);
  return out;
}

// ---- ss sampler -----------------------------------------------------------------------------

export interface SsSample {
  tMs: number;
  rttMs: number;
  cwnd: number;
  bytesAcked?: number;
  localPort: number;
}

/** Parses one `ss -tinH` dump; returns the connection with the most bytes acked (the data one). */
export function parseSsDump(text: string): Omit<SsSample, 'tMs'> | undefined {
  let best: Omit<SsSample, 'tMs'> | undefined;
  let port = 0;
  for (const line of text.split('\n')) {
    // local address:port (IPv6 in brackets), then the peer's
    const conn = /^\S.*?\s(?:\[[^\]\s]+\]|[^\s:]+):(\d+)\s+\S+:\d+/.exec(line);
    if (conn?.[1] !== undefined && !line.includes(' rtt:')) {
      port = Number(conn[1]);
      continue;
    }
    const rtt = / rtt:([\d.]+)\//.exec(line);
    if (rtt?.[1] === undefined) continue;
    const cwnd = / cwnd:(\d+)/.exec(line);
    const acked = / bytes_acked:(\d+)/.exec(line);
    const s: Omit<SsSample, 'tMs'> = {
      rttMs: Number(rtt[1]),
      cwnd: cwnd?.[1] !== undefined ? Number(cwnd[1]) : 0,
      localPort: port,
    };
    if (acked?.[1] !== undefined) s.bytesAcked = Number(acked[1]);
    if (best === undefined || (s.bytesAcked ?? 0) > (best.bytesAcked ?? 0)) best = s;
  }
  return best;
}

/**
 * The sender's view: `ss -tin` in srv every ~periodMs (a bash loop inside srv;
 * stamps each dump via bash's $EPOCHREALTIME) for connections to cli:port.
 */
export function ssSampler(
  tb: Testbed,
  opts: { port?: number; periodMs?: number; durationMs: number },
): { done: Promise<SsSample[]>; stop: () => void } {
  const w2m = new WallToMono();
  const port = opts.port ?? 5201;
  const period = (opts.periodMs ?? 20) / 1000;
  // bash builtins only between dumps ($EPOCHREALTIME, read -t as a sleep): one fork (ss) a sample
  const script =
    `exec 9<> <(:); end=$(( \${EPOCHREALTIME%.*} + ${Math.ceil(opts.durationMs / 1000) + 1} )); ` +
    `while [ \${EPOCHREALTIME%.*} -le $end ]; do echo "T $EPOCHREALTIME"; ` +
    `ss -tinH state established dst ${tb.addrs.cli.includes(':') ? `[${tb.addrs.cli}]` : tb.addrs.cli} dport = :${port}; read -t ${period} -u 9; done`;
  const child = spawnGroup(tb, 'srv', 'bash', ['-c', script]);
  const samples: SsSample[] = [];
  let cur: string[] = [];
  let curT: number | undefined;
  const flush = (): void => {
    if (curT === undefined) return;
    const s = parseSsDump(cur.join('\n'));
    if (s !== undefined) samples.push({ tMs: curT, ...s });
  };
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /^T (\d+)[.,](\d{6})$/.exec(l);
      if (m?.[1] !== undefined && m[2] !== undefined) {
        flush();
        cur = [];
        curT = w2m.toMono(Number(m[1]) * 1e6 + Number(m[2])) / 1000;
      } else cur.push(l);
    });
  }
  const stop = (): void => killGroup(child);
  const t = setTimeout(stop, opts.durationMs);
  const done = waitExit(child).then(() => {
    clearTimeout(t);
    flush();
    return samples;
  });
  return { done, stop };
}

/** Median of a list (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

// ---- iperf3 with extra client arguments (iperfDownload is this with none) -------------------

/**
 * One TCP download srv → cli with extra iperf3 client arguments, e.g.
 * `['--cport', '5301']` (the sender's data connection binds that port: zhuge's flows.tcp.ports
 * matches the downlink's source port, the sender's) or `['--fq-rate', '4M']` (paced sending).
 */
export async function iperfDownloadWithArgs(tb: Testbed, opts: IperfOptions, extraClientArgs: readonly string[]): Promise<IperfResult> {
  const port = opts.port ?? 5201;
  const iv = String(opts.intervalS ?? 0.1);
  const server = spawnGroup(tb, 'cli', 'iperf3', ['-s', '-1', '-p', String(port), '-B', tb.addrs.cli, '--json', '-i', iv]);
  let client: ChildProcess | undefined;
  try {
    const deadline = monoNowMs() + 5000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`iperf3 server exited ${String(server.exitCode)}`);
      const r = await tb.exec('cli', 'ss', ['-ltnH', `sport = :${port}`]);
      if (r.stdout.trim() !== '') break;
      if (monoNowMs() > deadline) throw new Error('iperf3 server did not start');
      await new Promise((res) => setTimeout(res, 20));
    }
    const args = ['-c', tb.addrs.cli, '-p', String(port), '-t', String(opts.durationS), '-i', iv, '--json', '--get-server-output'];
    if (opts.cc !== undefined) args.push('-C', opts.cc);
    args.push(...extraClientArgs);
    const startMonoMs = monoNowMs();
    client = spawnGroup(tb, 'srv', 'iperf3', args);
    let stdout = '';
    let stderr = '';
    client.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    client.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const c = client;
    // iperf3 ends with a result exchange over its control connection, queued behind the data still in
    // the bottleneck: at 0.6 Mbit/s a 750 KB buffer takes 10 s to drain (killed at +10 s before)
    const guard = setTimeout(() => killGroup(c, 'SIGKILL'), (opts.durationS + 45) * 1000);
    const code = await waitExit(client);
    clearTimeout(guard);
    if (stdout.trim() === '') throw new Error(`iperf3 client exited ${String(code)}: ${stderr}`);
    return parseIperfJson(stdout, startMonoMs);
  } finally {
    if (client !== undefined) killGroup(client);
    killGroup(server);
  }
}

/** The sender's per-ACK RTT (tcptrace-style): testbed/rtt-tap.ts in srv on the sender's port. */
export async function startRttTap(tb: Testbed, port = 5201): Promise<{ stop(): Promise<RttSample[]> }> {
  const w2m = new WallToMono();
  const child = tb.spawn('srv', process.execPath, [distScript('rtt-tap'), '--dev', tb.ifaces.srv, '--sender', tb.addrs.srv, '--port', String(port)]);
  const samples: RttSample[] = [];
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = JSON.parse(l) as { event?: string; tUs?: number; rttMs?: number };
        if (m.event === 'ready') {
          ready = true;
          resolve();
        } else if (m.tUs !== undefined && m.rttMs !== undefined) samples.push({ tMs: w2m.toMono(m.tUs) / 1000, rttMs: m.rttMs });
      });
    }
    void exited.then(() => {
      if (!ready) reject(new Error(`rtt tap exited: ${stderr}`));
    });
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      return samples;
    },
  };
}
