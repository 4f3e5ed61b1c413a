/**
 * Capture rate sustained without drops (root): the daemon's libpcap tap (src/daemon/capture.ts)
 * under a UDP flood of increasing packet rates.
 *
 *   <p>-s  10.78.0.1 ── <p>s0 ═══ <p>r0 ── 10.78.0.2  <p>-r
 *          sender (python3, else node)     Tap 'inbound' on <p>r0, in a child process
 *                                          (`ip netns exec <p>-r node capture.js --tap ...`)
 *
 * Per rate (100-byte UDP payloads, ~3 s each) it prints: datagrams sent, packets the receiving
 * veth got (its rx counter), packets the Tap delivered to JS, libpcap's kernel drops
 * (Tap.stats().kernelDrops) and interface drops, and the tap process's CPU (user + system over
 * the wall time of the step). The handler does what the daemon's eth tap starts with: decode the
 * frame (decodePacket) and hash it (packetMatchKey).
 *
 * Namespaces and the veth carry a per-run prefix and are deleted at exit, also on error or
 * SIGINT/SIGTERM. Not root: prints why and exits 0.
 *
 *   npx tsc -p tsconfig.build.json && sudo node dist/bench/capture.js [rates=20000,50000,100000,200000] [seconds=3]
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Tap } from '../src/daemon/capture.js';
import { packetMatchKey } from '../src/protocols/flow-key.js';
import { decodePacket, linkTypeFromDlt, newPacketView } from '../src/protocols/packet.js';
import { teardownPrefix, uniquePrefix } from './nfqueue-lab.js';

const PORT = 47_000;
const PAYLOAD = 100;
const IP_S = '10.78.0.1';
const IP_R = '10.78.0.2';

// ------------------------------------------------------------------- tap (child) ----

/**
 * Child mode, run inside the receiving namespace: opens the Tap, prints 'ready', then answers
 * each 'stats' line on stdin with one JSON line.
 */
function tapMain(dev: string, port: number): void {
  const v = newPacketView();
  let sink = 0;
  let decodeErrors = 0;
  let linkType: ReturnType<typeof linkTypeFromDlt> = 'ethernet';
  let tap: Tap | undefined = new Tap({ device: dev, direction: 'inbound', filter: `udp dst port ${port}`, snapLength: 256 }, (_wallUs, data) => {
    try {
      decodePacket(data, linkType ?? 'ethernet', v);
      sink = (sink + packetMatchKey(v, data)) | 0;
    } catch {
      decodeErrors++;
    }
  });
  linkType = linkTypeFromDlt(tap.dlt);
  const t0 = performance.now();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'stats') {
      const s = tap?.stats();
      const cpu = process.cpuUsage();
      process.stdout.write(
        JSON.stringify({
          delivered: s?.delivered ?? 0,
          kernelDrops: s?.kernelDrops ?? 0,
          ifDrops: s?.ifDrops ?? 0,
          handlerErrors: s?.handlerErrors ?? 0,
          decodeErrors,
          cpuUs: cpu.user + cpu.system,
          wallMs: performance.now() - t0,
          sink,
        }) + '\n',
      );
    }
  });
  rl.on('close', () => {
    tap?.close();
    tap = undefined;
    process.exit(0);
  });
  process.stdout.write('ready\n');
}

// ------------------------------------------------------------------------ senders ----

const PY_SENDER = String.raw`
import socket, sys, time
host, port, rate, secs, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
s.connect((host, port))
buf = b'z' * size
snd = s.send
sent = 0; errors = 0
t0 = time.monotonic(); end = t0 + secs
while True:
    now = time.monotonic()
    if now >= end: break
    due = int((now - t0) * rate) + 1
    if sent >= due:
        time.sleep(0.0002)
        continue
    n = min(due - sent, 256)
    i = 0
    while i < n:
        try:
            while i < n:
                snd(buf)
                i += 1
        except OSError:
            errors += 1
            i += 1
    sent += n
print(sent, errors, time.monotonic() - t0)
`;

const NODE_SENDER = String.raw`
const dgram = require('node:dgram');
const [host, port, rate, secs, size] = [process.argv[1], ...process.argv.slice(2).map(Number)];
const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
const buf = Buffer.alloc(size, 0x7a);
let sent = 0, errors = 0;
const t0 = performance.now();
s.connect(port, host, () => {
  function tick() {
    const now = performance.now();
    if (now - t0 >= secs * 1000) { s.close(); console.log(sent, errors, (now - t0) / 1000); return; }
    const due = Math.floor(((now - t0) / 1000) * rate) + 1;
    for (let n = 0; sent < due && n < 2048; n++) { s.send(buf, (e) => { if (e) errors++; }); sent++; }
    setImmediate(tick);
  }
  tick();
});
`;

function hasPython(): boolean {
  return spawnSync('python3', ['-c', 'import socket'], { stdio: 'ignore' }).status === 0;
}

interface SendResult {
  sent: number;
  errors: number;
  seconds: number;
}

/** `senders` processes at rate/senders each (one python3 process tops out near 100k/s here). */
async function send(ns: string, rate: number, seconds: number, python: boolean, senders: number): Promise<SendResult> {
  const parts = await Promise.all(Array.from({ length: senders }, () => sendOne(ns, rate / senders, seconds, python)));
  return {
    sent: parts.reduce((a, p) => a + p.sent, 0),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    seconds: Math.max(...parts.map((p) => p.seconds)),
  };
}

function sendOne(ns: string, rate: number, seconds: number, python: boolean): Promise<SendResult> {
  const argv = python
    ? ['netns', 'exec', ns, 'python3', '-c', PY_SENDER]
    : ['netns', 'exec', ns, process.execPath, '-e', NODE_SENDER];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', [...argv, IP_R, String(PORT), String(rate), String(seconds), String(PAYLOAD)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => (out += c));
    child.on('exit', (code) => {
      const [sent, errors, secs] = out.trim().split(/\s+/).map(Number);
      if (code !== 0 || sent === undefined || Number.isNaN(sent)) reject(new Error(`sender exited ${String(code)}: ${out}`));
      else resolve({ sent, errors: errors ?? 0, seconds: secs ?? seconds });
    });
  });
}

// --------------------------------------------------------------------------- lab ----

function sh(argv: string[]): void {
  execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface Lab {
  prefix: string;
  nsS: string;
  nsR: string;
  devR: string;
}

function createLab(prefix: string): Lab {
  const lab: Lab = { prefix, nsS: `${prefix}-s`, nsR: `${prefix}-r`, devR: `${prefix}r0` };
  const devS = `${prefix}s0`;
  sh(['ip', 'netns', 'add', lab.nsS]);
  sh(['ip', 'netns', 'add', lab.nsR]);
  sh(['ip', 'link', 'add', devS, 'netns', lab.nsS, 'type', 'veth', 'peer', 'name', lab.devR, 'netns', lab.nsR]);
  for (const [ns, dev, ip] of [
    [lab.nsS, devS, `${IP_S}/24`],
    [lab.nsR, lab.devR, `${IP_R}/24`],
  ] as const) {
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'addr', 'add', ip, 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    try {
      sh(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    } catch {
      // no ethtool: datagrams below the MTU are not aggregated anyway
    }
  }
  // no socket listens: the port-unreachable answers are rate-limited by the kernel (1/s)
  return lab;
}

function rxPackets(ns: string, dev: string): { packets: number; dropped: number } {
  const out = execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  const j = JSON.parse(out) as Array<{ stats64?: { rx?: { packets?: number; dropped?: number } } }>;
  const rx = j[0]?.stats64?.rx;
  return { packets: rx?.packets ?? 0, dropped: rx?.dropped ?? 0 };
}

interface TapSample {
  delivered: number;
  kernelDrops: number;
  ifDrops: number;
  handlerErrors: number;
  decodeErrors: number;
  cpuUs: number;
  wallMs: number;
}

class TapChild {
  private readonly child: ChildProcess;
  private readonly waiters: Array<(s: TapSample) => void> = [];
  readonly ready: Promise<void>;

  constructor(lab: Lab) {
    this.child = spawn(
      'ip',
      ['netns', 'exec', lab.nsR, process.execPath, fileURLToPath(import.meta.url), '--tap', lab.devR, String(PORT)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const rl = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    let onReady: () => void = () => undefined;
    let onFail: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    this.child.on('exit', (code) => onFail(new Error(`tap child exited ${String(code)}`)));
    rl.on('line', (line) => {
      if (line === 'ready') onReady();
      else if (line.startsWith('{')) this.waiters.shift()?.(JSON.parse(line) as TapSample);
    });
  }

  sample(): Promise<TapSample> {
    return new Promise((res) => {
      this.waiters.push(res);
      this.child.stdin?.write('stats\n');
    });
  }

  close(): void {
    this.child.stdin?.end();
  }
}

// -------------------------------------------------------------------------- main ----

async function main(): Promise<void> {
  const tapAt = process.argv.indexOf('--tap');
  if (tapAt >= 0) {
    tapMain(process.argv[tapAt + 1] ?? '', Number(process.argv[tapAt + 2] ?? PORT));
    return;
  }
  if (process.getuid?.() !== 0) {
    console.log('capture: skipped — needs root (network namespaces, a veth and a libpcap tap)');
    return;
  }
  const rates = (process.argv[2] ?? '20000,50000,100000,200000').split(',').map(Number);
  const seconds = Number(process.argv[3] ?? '3');
  const maxPerSender = Number(process.env['ZHUGE_BENCH_PPS_PER_SENDER'] ?? '100000');
  const python = hasPython();
  const prefix = uniquePrefix('zbc');
  const cleanup = (): void => teardownPrefix(prefix);
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });
  process.once('exit', cleanup);
  let tap: TapChild | undefined;
  try {
    const lab = createLab(prefix);
    tap = new TapChild(lab);
    await tap.ready;
    console.log(
      `capture: Tap 'inbound' (node-pcap, immediate mode, 8 MiB buffer, decode + match key per packet) on a veth in a netns; ` +
        `UDP ${PAYLOAD} B payloads from a ${python ? 'python3' : 'node'} sender in another netns, ${seconds} s per rate`,
    );
    await send(lab.nsS, 1000, 0.1, python, 1); // ARP resolved, IPv6 chatter of a new link over
    await new Promise((r) => setTimeout(r, 300));
    console.log(' rate/s snd sent/s     sent snd-err  veth-rx  tap-deliv  kdrop ifdrop  lost  tap-cpu%');
    for (const rate of rates) {
      const senders = Math.max(1, Math.ceil(rate / maxPerSender));
      const s0 = await tap.sample();
      const r0 = rxPackets(lab.nsR, lab.devR);
      const res = await send(lab.nsS, rate, seconds, python, senders);
      await new Promise((r) => setTimeout(r, 300)); // let the tap drain its buffer
      const s1 = await tap.sample();
      const r1 = rxPackets(lab.nsR, lab.devR);
      const delivered = s1.delivered - s0.delivered;
      const kdrop = s1.kernelDrops - s0.kernelDrops;
      const ifdrop = s1.ifDrops - s0.ifDrops;
      const rx = r1.packets - r0.packets;
      const cpu = ((s1.cpuUs - s0.cpuUs) / 1000 / (s1.wallMs - s0.wallMs)) * 100;
      console.log(
        [
          String(rate).padStart(7),
          String(senders).padStart(3),
          String(Math.round(res.sent / res.seconds)).padStart(6),
          String(res.sent).padStart(8),
          String(res.errors).padStart(7),
          String(rx).padStart(8),
          String(delivered).padStart(10),
          String(kdrop).padStart(6),
          String(ifdrop).padStart(6),
          String(Math.max(0, res.sent - res.errors - delivered)).padStart(5),
          cpu.toFixed(1).padStart(9),
        ].join(' '),
      );
      if (s1.handlerErrors + s1.decodeErrors > 0) console.log(`    handler errors ${s1.handlerErrors}, decode errors ${s1.decodeErrors}`);
    }
    console.log(
      '  (snd: sender processes; veth-rx: all packets the receiving veth counted; lost = sent - snd-err - tap-deliv; ' +
        'tap-cpu%: the tap process, % of one core, user+system)',
    );
  } finally {
    tap?.close();
    await new Promise((r) => setTimeout(r, 100));
    cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
