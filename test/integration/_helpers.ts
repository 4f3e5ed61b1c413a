/**
 * Shared helpers of the live-daemon integration tests (root + netns): the compiled-code
 * freshness check, namespace commands, polling, a TCP request/response probe and raw-packet
 * tools (Python 3: node has no raw sockets).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Testbed } from '../../testbed/topology.js';
import { monoNowMs, sleep } from '../../testbed/traffic.js';

export const isRoot = process.getuid?.() === 0;
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_JS = join(REPO, 'dist/src/cli.js');
export const NATIVE = join(REPO, 'native/nfqueue/build/Release/zhuge_nfqueue.node');

export { sleep };
/** CLOCK_MONOTONIC in ms (the same clock as Python's time.monotonic()). */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;
/** monoMs() minus testbed/traffic.ts's monoNowMs() (iperf interval times are on the latter). */
export function trafficClockOffsetMs(): number {
  return monoMs() - monoNowMs();
}

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * Rebuilds dist/ (tsc, emits even when files of others have type errors) when dist/src/cli.js
 * or dist/testbed/capture-tool.js is older than any source. Several test files may call this
 * at once: a directory lock serialises the builds.
 */
export async function ensureBuilt(): Promise<void> {
  const sources = [...tsFiles(join(REPO, 'src')), ...tsFiles(join(REPO, 'testbed'))];
  const fresh = (): boolean =>
    [CLI_JS, join(REPO, 'dist/testbed/capture-tool.js'), join(REPO, 'dist/testbed/player.js')].every((out) => {
      if (!existsSync(out)) return false;
      const m = statSync(out).mtimeMs;
      return sources.every((s) => statSync(s).mtimeMs <= m);
    });
  if (fresh()) return;
  const lock = '/tmp/zhuge-integration-build.lock';
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held for 2 minutes`);
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 180_000) rmdirSync(lock);
      await sleep(500);
    }
  }
  try {
    if (fresh()) return;
    try {
      execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json')], { stdio: 'ignore' });
    } catch {
      // emitted anyway
    }
  } finally {
    rmdirSync(lock);
  }
}

/** Why the live daemon cannot run here (undefined: it can). */
export function daemonUnavailable(): string | undefined {
  if (!isRoot) return 'not root';
  if (!existsSync(NATIVE)) return 'NFQUEUE addon not built (npm run build:native)';
  return undefined;
}

/** `iptables-save` of the ap namespace. */
export async function iptablesSave(tb: Testbed): Promise<string> {
  return (await tb.exec('ap', 'iptables-save', [])).stdout;
}

/** True when the ap namespace holds any zhuge chain or rule (of any instance). */
export async function hasZhugeRules(tb: Testbed): Promise<boolean> {
  return /ZHUGE/.test(await iptablesSave(tb));
}

/** Polls `cond` every `everyMs` until true; resolves the elapsed ms, or undefined on timeout. */
export async function pollUntil(cond: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number | undefined> {
  const t0 = monoMs();
  for (;;) {
    if (await cond()) return monoMs() - t0;
    if (monoMs() - t0 > timeoutMs) return undefined;
    await sleep(everyMs);
  }
}

/** GET http://127.0.0.1:port/path from inside the ap namespace (curl). */
export async function httpGetInAp(tb: Testbed, port: number, path: string): Promise<{ code: number; body: string }> {
  const r = await tb.exec('ap', 'curl', ['-s', '-m', '3', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`]);
  const i = r.stdout.lastIndexOf('\n');
  return { code: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

/** Parses Prometheus text: sum of the samples of `name` whose labels include all of `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const ls: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1] ?? ''] = kv[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => ls[k] === v)) continue;
    sum = (sum ?? 0) + Number(m[4]);
  }
  return sum;
}

// ---- a TCP request/response probe (Python, in srv and cli) -----------------------------------

const PROBE_SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print('ready', flush=True)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    b = c.recv(64)
    if not b: break
    c.sendall(b)
`;

const PROBE_CLIENT = `
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
iv = float(sys.argv[3]) / 1000
while True:
    t0 = time.monotonic()
    c.sendall(b'x')
    if c.recv(64) == b'': break
    t1 = time.monotonic()
    print('%.3f %.3f' % (t1 * 1000, (t1 - t0) * 1000), flush=True)
    d = iv - (time.monotonic() - t0)
    if d > 0: time.sleep(d)
`;

export interface ProbeReply {
  /** CLOCK_MONOTONIC ms when the reply arrived */
  tMs: number;
  rttMs: number;
}

export interface TcpProbe {
  replies: ProbeReply[];
  /** largest interval between consecutive replies (and from `fromMs` to the first) in [fromMs, toMs] */
  maxGapMs(fromMs: number, toMs: number): number;
  stop(): Promise<void>;
}

function killChild(c: ChildProcess): void {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A 1-byte request every `intervalMs` from cli to srv over one TCP connection (a flow zhuge treats). */
export async function startTcpProbe(tb: Testbed, port: number, intervalMs = 10): Promise<TcpProbe> {
  const server = tb.spawn('srv', 'python3', ['-c', PROBE_SERVER, tb.addrs.srv, String(port)]);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    server.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    server.once('exit', (c) => reject(new Error(`probe server exited ${String(c)}: ${err}`)));
    server.stdout?.once('data', () => resolve());
  });
  const client = tb.spawn('cli', 'python3', ['-c', PROBE_CLIENT, tb.addrs.srv, String(port), String(intervalMs)]);
  const replies: ProbeReply[] = [];
  await new Promise<void>((resolve, reject) => {
    let err = '';
    client.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    client.once('exit', (c) => reject(new Error(`probe client exited ${String(c)}: ${err}`)));
    if (client.stdout === null) return;
    createInterface({ input: client.stdout }).on('line', (l) => {
      const [t, r] = l.split(' ').map(Number);
      if (t !== undefined && r !== undefined) replies.push({ tMs: t, rttMs: r });
      if (replies.length === 1) resolve();
    });
  });
  return {
    replies,
    maxGapMs(fromMs: number, toMs: number): number {
      let last = fromMs;
      let gap = 0;
      for (const r of replies) {
        if (r.tMs < fromMs) continue;
        if (r.tMs > toMs) break;
        gap = Math.max(gap, r.tMs - last);
        last = r.tMs;
      }
      return Math.max(gap, toMs - last);
    },
    async stop(): Promise<void> {
      killChild(client);
      killChild(server);
      await sleep(50);
    },
  };
}

// ---- raw packets (Python raw sockets) ---------------------------------------------------------

/** Sends raw IPv4 packets (hex, complete headers) from a namespace through IPPROTO_RAW. */
const RAW_SEND = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for h in sys.argv[1:]:
    p = bytes.fromhex(h)
    dst = socket.inet_ntoa(p[16:20])
    s.sendto(p, (dst, 0))
    time.sleep(0.005)
`;

export async function sendRawIpv4(tb: Testbed, role: 'srv' | 'cli', packets: readonly Uint8Array[]): Promise<void> {
  await tb.exec(role, 'python3', ['-c', RAW_SEND, ...packets.map((p) => Buffer.from(p).toString('hex'))]);
}

/** Receives every IPv4 packet from `src` on an interface (AF_PACKET), printing hex lines. */
const RAW_RECV = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
src = socket.inet_aton(sys.argv[2])
print('ready', flush=True)
while True:
    p, addr = s.recvfrom(70000)
    if addr[2] == socket.PACKET_OUTGOING: continue
    if len(p) >= 34 and p[12:14] == bytes([8, 0]) and p[26:30] == src: print(p.hex(), flush=True)
`;

export interface RawReceiver {
  packets: Buffer[];
  stop(): void;
}

export async function startRawReceiver(tb: Testbed, role: 'srv' | 'cli', dev: string, fromAddr: string): Promise<RawReceiver> {
  const child = tb.spawn(role, 'python3', ['-c', RAW_RECV, dev, fromAddr]);
  const packets: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (c) => reject(new Error(`raw receiver exited ${String(c)}: ${err}`)));
    if (child.stdout === null) return;
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l === 'ready') resolve();
      else packets.push(Buffer.from(l, 'hex'));
    });
  });
  return { packets, stop: () => killChild(child) };
}

/**
 * A real download the way a client does one: iperf3 server in srv on `port`, the client in cli
 * with -R (the server sends), so the downlink's source port is the server port `port`.
 */
export async function iperfReverse(tb: Testbed, port: number, durationS: number): Promise<{ receivedBytes: number }> {
  const server = tb.spawn('srv', 'iperf3', ['-s', '-1', '-B', tb.addrs.srv, '-p', String(port)]);
  try {
    const ok = await pollUntil(async () => (await tb.exec('srv', 'ss', ['-ltnH', `sport = :${port}`])).stdout.trim() !== '', 5000);
    if (ok === undefined) throw new Error('iperf3 server did not start');
    const r = await tb.exec('cli', 'iperf3', ['-c', tb.addrs.srv, '-p', String(port), '-R', '-t', String(durationS), '--json'], (durationS + 10) * 1000);
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bytes?: number } } };
    return { receivedBytes: j.end?.sum_received?.bytes ?? 0 };
  } finally {
    killChild(server);
  }
}

/** Spawns a plain process and collects its output and exit code. */
export function runProcess(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Packets waiting for a verdict in the ap namespace's NFQUEUE queues (/proc/net/netfilter/nfnetlink_queue, field 3); -1 when unreadable. */
export async function kernelQueueTotal(tb: Testbed): Promise<number> {
  try {
    const r = await tb.exec('ap', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
    return r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .reduce((t, l) => t + Number(l.trim().split(/\s+/)[2] ?? 0), 0);
  } catch {
    return -1;
  }
}
