/**
 * A three-namespace forwarding lab for NFQUEUE tests and benches (root only):
 *
 *   <p>-a  10.77.1.2 ── <p>a0 ═══ <p>f0 ── <p>-f (ip_forward=1) ── <p>f1 ═══ <p>b0 ── 10.77.2.2  <p>-b
 *                                10.77.1.1                        10.77.2.1
 *
 * Everything carries a per-run prefix; teardown() deletes only that prefix's namespaces (the
 * veths go with them). UDP senders and receivers are small node programs run with
 * `ip netns exec`; the receiver reports, per datagram, the sequence number, the one-way delay
 * (sender CLOCK_MONOTONIC stamp in the payload vs the receiver's, same host: one clock for
 * every process, unlike performance.timeOrigin-based wall clocks) and a tag byte.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Lab {
  prefix: string;
  nsA: string;
  nsF: string;
  nsB: string;
  /** forwarder's interface towards A (the "wlan" of a test: packets from A come in here) */
  fIn: string;
  fOut: string;
  ipA: string;
  ipB: string;
  teardown(): void;
}

function sh(argv: string[]): void {
  execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function uniquePrefix(tag: string): string {
  return `${tag}${randomBytes(3).toString('hex')}`.slice(0, 9);
}

/** Deletes every namespace whose name starts with `${prefix}-`. */
export function teardownPrefix(prefix: string): void {
  let names: string[];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((n) => n.startsWith(`${prefix}-`));
  } catch {
    return;
  }
  for (const n of names) {
    try {
      sh(['ip', 'netns', 'del', n]);
    } catch {
      // already gone
    }
  }
}

export function createLab(prefix: string): Lab {
  const nsA = `${prefix}-a`;
  const nsF = `${prefix}-f`;
  const nsB = `${prefix}-b`;
  const lab: Lab = {
    prefix,
    nsA,
    nsF,
    nsB,
    fIn: `${prefix}f0`,
    fOut: `${prefix}f1`,
    ipA: '10.77.1.2',
    ipB: '10.77.2.2',
    teardown: () => teardownPrefix(prefix),
  };
  try {
    for (const ns of [nsA, nsF, nsB]) {
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', 'link', 'add', `${prefix}a0`, 'netns', nsA, 'type', 'veth', 'peer', 'name', lab.fIn, 'netns', nsF]);
    sh(['ip', 'link', 'add', lab.fOut, 'netns', nsF, 'type', 'veth', 'peer', 'name', `${prefix}b0`, 'netns', nsB]);
    const addr: [string, string, string][] = [
      [nsA, `${prefix}a0`, '10.77.1.2/24'],
      [nsF, lab.fIn, '10.77.1.1/24'],
      [nsF, lab.fOut, '10.77.2.1/24'],
      [nsB, `${prefix}b0`, '10.77.2.2/24'],
    ];
    for (const [ns, dev, ip] of addr) {
      sh(['ip', '-n', ns, 'addr', 'add', ip, 'dev', dev]);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      try {
        sh(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      } catch {
        // ethtool missing: fine for UDP datagrams below the MTU
      }
    }
    sh(['ip', '-n', nsA, 'route', 'add', 'default', 'via', '10.77.1.1']);
    sh(['ip', '-n', nsB, 'route', 'add', 'default', 'via', '10.77.2.1']);
    sh(['ip', 'netns', 'exec', nsF, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  } catch (e) {
    lab.teardown();
    throw e;
  }
  return lab;
}

/** Receiver program: prints 'ready', then at the end one JSON line [[seq, delayUs, tag, len], ...]. */
const RECEIVER_JS = String.raw`
const dgram = require('node:dgram');
const { performance } = require('node:perf_hooks');
const port = Number(process.argv[1]);
const idleMs = Number(process.argv[2]);
const maxMs = Number(process.argv[3]);
const wallUs = () => Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC: shared by all processes
const out = [];
let idle;
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  try { s.close(); } catch (e) {}
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}
s.on('message', (m) => {
  const now = wallUs();
  if (m.length >= 13) out.push([m.readUInt32BE(0), Math.round(now - m.readDoubleBE(4)), m[12], m.length]);
  else out.push([-1, 0, -1, m.length]);
  if (idle) clearTimeout(idle);
  idle = setTimeout(finish, idleMs);
});
s.bind(port, () => { process.stdout.write('ready\n'); setTimeout(finish, maxMs); });
process.on('SIGTERM', finish);
`;

/** Sender program: count datagrams at rate pps, payload [seq u32][sentMonoUs f64][tag u8][pad]. */
const SENDER_JS = String.raw`
const dgram = require('node:dgram');
const { performance } = require('node:perf_hooks');
const [host, port, count, pps, size, tag] = [process.argv[1], ...process.argv.slice(2).map(Number)];
const wallUs = () => Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC: shared by all processes
const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
const buf = Buffer.alloc(Math.max(13, size));
let sent = 0;
const t0 = performance.now();
s.connect(port, host, () => {
  function tick() {
    const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * pps) + 1);
    while (sent < due) {
      buf.writeUInt32BE(sent, 0);
      buf.writeDoubleBE(wallUs(), 4);
      buf[12] = tag;
      s.send(buf);
      sent++;
    }
    if (sent < count) setTimeout(tick, 1);
    else setTimeout(() => { s.close(); process.exit(0); }, 50);
  }
  tick();
});
`;

export interface RxRecord {
  seq: number;
  delayUs: number;
  tag: number;
  len: number;
}

export interface Receiver {
  ready: Promise<void>;
  done: Promise<RxRecord[]>;
  child: ChildProcess;
  stop(): void;
}

export function startReceiver(ns: string, port: number, idleMs = 500, maxMs = 30_000): Receiver {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', RECEIVER_JS, String(port), String(idleMs), String(maxMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    out += c;
    if (out.startsWith('ready\n')) readyResolve();
  });
  const done = new Promise<RxRecord[]>((resolve, reject) => {
    child.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('['));
      if (line === undefined) return reject(new Error('receiver produced no result: ' + out.slice(0, 200)));
      try {
        const rows = JSON.parse(line) as [number, number, number, number][];
        resolve(rows.map(([seq, delayUs, tag, len]) => ({ seq, delayUs, tag, len })));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return { ready, done, child, stop: () => child.kill('SIGTERM') };
}

/** Sends `count` datagrams from `ns` to host:port at `pps`; resolves when the sender exits. */
export function sendUdp(ns: string, host: string, port: number, count: number, pps: number, size = 64, tag = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', SENDER_JS, host, String(port), String(count), String(pps), String(size), String(tag)],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sender exited ${String(code)}`))));
  });
}
