/**
 * The live daemon's memory with many flows alive at once (issue 16: its RSS at 1k and 10k
 * flows): root, compiled,
 *
 *   node dist/testbed/flows-rss.js [--steps 1000,10000] [--out FILE]
 *
 * The daemon runs on the netns testbed with its defaults (maxFlows 10000, idle timeout 30 s).
 * A raw-socket generator in srv sends, for each new flow, two TCP data segments from a distinct
 * server port to the client (checksums right: they are counted as TCP, not as malformed); the
 * client answers each with a RST through NFQUEUE. The soak's generator rebinds sockets and could
 * not get past ~1000 live flows (docs/benchmarks.md); raw packets can. At each step the flows
 * are created within a few seconds (all alive, well inside the idle timeout), then the daemon's
 * RSS (/proc) and its flow count (/metrics) are read. A last reading after the idle timeout shows
 * what stays once the flows expired.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { startDaemon } from './daemon-proc.js';
import { randomPrefix, up, type Testbed } from './topology.js';

/** Sends `count` flows' first segments: server ports from `firstPort`, two 200-byte segments each. */
const GEN = `
import socket, struct, sys
src, dst, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
S, D = socket.inet_aton(src), socket.inet_aton(dst)
def csum(b):
    if len(b) % 2: b += b'\\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
payload = b'z' * 200
sent = 0
for i in range(count):
    sport = first + i
    for k in range(2):
        tcp = struct.pack('!HHIIBBHHH', sport, 45000, 1000 + k * 200, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
        c = csum(S + D + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), (i * 2 + k) & 0xffff, 0x4000, 64, 6, 0, S, D)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        s.sendto(ip + tcp, (dst, 0))
        sent += 1
print(sent)
`;

export interface FlowsRssReading {
  label: string;
  /** flows the daemon counts (zhuge_flows_active) */
  flowsActive: number;
  rssMiB: number;
  /** the daemon's children (its watchdog), summed */
  watchdogRssMiB: number;
  /** distinct flows sent so far */
  flowsSent: number;
}

async function metric(tb: Testbed, port: number, name: string): Promise<number> {
  const m = (await tb.exec('ap', process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`])).stdout;
  const line = m.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  return Number((kb / 1024).toFixed(1));
}

function childrenRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '');
  return Number(kids.reduce((a, k) => a + rssMiB(Number(k)), 0).toFixed(1));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runFlowsRss(steps: readonly number[]): Promise<FlowsRssReading[]> {
  const tb = await up({ prefix: randomPrefix(), rateBps: 100e6, bufferMs: 50 });
  const port = 9478;
  const out: FlowsRssReading[] = [];
  try {
    const daemon = await startDaemon(tb, { metricsPort: port });
    const pid = daemon.child.pid;
    const read = async (label: string, flowsSent: number): Promise<void> => {
      const r = { label, flowsActive: await metric(tb, port, 'zhuge_flows_active'), rssMiB: rssMiB(pid), watchdogRssMiB: childrenRssMiB(pid), flowsSent };
      out.push(r);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    };
    await sleep(3000);
    await read('started, no flows', 0);
    let sent = 0;
    for (const n of steps) {
      const add = n - sent;
      if (add <= 0) continue;
      await tb.exec('srv', 'python3', ['-c', GEN, tb.addrs.srv, tb.addrs.cli, String(1024 + sent), String(add)], 120_000);
      sent = n;
      await sleep(2000);
      await read(`${n} flows sent`, sent);
    }
    // the idle timeout (30 s) and the idle sweep: the flows are gone, what stays of the memory
    await sleep(40_000);
    await read('40 s later (flows expired)', sent);
    await daemon.stop();
  } finally {
    await tb.down();
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '1000,10000' }, out: { type: 'string' } } });
  runFlowsRss((values.steps ?? '').split(',').map(Number))
    .then((r) => {
      console.log(r.map((x) => `${x.label.padEnd(28)} flows ${String(x.flowsActive).padStart(6)}  RSS ${x.rssMiB} MiB, watchdog ${x.watchdogRssMiB} MiB`).join('\n'));
      if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(r, null, 1));
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
