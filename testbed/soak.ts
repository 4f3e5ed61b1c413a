/**
 * The soak (issue 15, "long and wide"): the daemon on the netns testbed for many minutes at about
 * 5k packets/s with churning flows of every kind it treats, and what changes between the start
 * and the end of the run:
 *  - TCP: back-to-back 20 s iperf3 downloads capped at 5 Mbit/s (a new 5-tuple each), ACKs held
 *    by the default uplink mode (increments);
 *  - RTP and QUIC: testbed/soak-traffic.ts, ~4000 datagrams/s, a new source port every 2000
 *    (RTP transports and QUIC flows churn), RTCP receiver reports and short QUIC packets back;
 *  - every 10 s: the daemon's RSS (/proc), its event-loop lag p99 and flow counts (/metrics), the
 *    hold lateness histogram (zhuge_hold_lateness_seconds: the hold-time error) and the added delay.
 * Start window: minutes 1-3 (after warm-up); end window: the last 2 minutes.
 *
 *   node dist/testbed/soak.js [--minutes 30] [--pps 4000] [--flow-packets 2000] [--out FILE.json]
 *
 * With a small --flow-packets the flows churn fast enough that many are alive at once (a flow
 * stays in the table for flows.idleTimeoutMs, 30 s, after its last packet): the live daemon's
 * RSS with thousands of flows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startDaemon } from './daemon-proc.js';
import { distScript } from './scripts.js';
import { randomPrefix, up } from './topology.js';
import { killGroup, sleep, spawnGroup, waitExit } from './traffic.js';

export interface SoakSample {
  tS: number;
  rssMiB: number;
  lagP99Ms: number;
  flowsActive: number;
  packetsTotal: number;
  /** cumulative histogram buckets of zhuge_hold_lateness_seconds: [le, count] */
  lateness: Array<[number, number]>;
  addedDelaySum: number;
  addedDelayCount: number;
  foreignMac: number;
}

export interface SoakWindow {
  fromS: number;
  toS: number;
  rssMiB: number;
  lagP99Ms: number;
  packetsPerS: number;
  holdLatenessP99Ms: number;
  holdReleases: number;
  addedDelayMeanMs: number;
  flowsActive: number;
}

/** One number of a Prometheus text sample line, or NaN. */
export function metricValue(text: string, name: string, labels = ''): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (labels === '' ? rest.startsWith(' ') : rest.startsWith(`{${labels}} `)) return Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return Number.NaN;
}

/** Sum of a counter over all its label sets. */
function metricSum(text: string, name: string): number {
  let s = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) s += Number(line.slice(line.lastIndexOf(' ') + 1));
  return s;
}

function buckets(text: string, name: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m !== null) out.push([m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])]);
  }
  return out;
}

/** The p-quantile (ms) of the observations between two cumulative bucket snapshots: the upper bound of its bucket. */
export function bucketQuantileMs(a: Array<[number, number]>, b: Array<[number, number]>, p: number): { ms: number; n: number } {
  const d = b.map(([le, c], i) => [le, c - (a[i]?.[1] ?? 0)] as [number, number]);
  const n = d.at(-1)?.[1] ?? 0;
  if (n <= 0) return { ms: 0, n: 0 };
  for (const [le, c] of d) if (c >= p * n) return { ms: le * 1000, n };
  return { ms: Number.POSITIVE_INFINITY, n };
}

export function soakWindow(samples: SoakSample[], fromS: number, toS: number): SoakWindow | undefined {
  const w = samples.filter((s) => s.tS >= fromS && s.tS <= toS);
  const first = w[0];
  const last = w.at(-1);
  if (first === undefined || last === undefined || last === first) return undefined;
  const med = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
  const q = bucketQuantileMs(first.lateness, last.lateness, 0.99);
  const dn = last.addedDelayCount - first.addedDelayCount;
  return {
    fromS: first.tS,
    toS: last.tS,
    rssMiB: Number(med(w.map((s) => s.rssMiB)).toFixed(1)),
    lagP99Ms: Number(med(w.map((s) => s.lagP99Ms)).toFixed(2)),
    packetsPerS: Math.round((last.packetsTotal - first.packetsTotal) / (last.tS - first.tS)),
    holdLatenessP99Ms: q.ms,
    holdReleases: q.n,
    addedDelayMeanMs: dn > 0 ? Number((((last.addedDelaySum - first.addedDelaySum) / dn) * 1000).toFixed(2)) : 0,
    flowsActive: Math.round(med(w.map((s) => s.flowsActive))),
  };
}

export async function runSoak(o: { minutes: number; pps: number; flowPackets?: number }): Promise<{ samples: SoakSample[]; start: SoakWindow | undefined; end: SoakWindow | undefined }> {
  const tb = await up({ prefix: randomPrefix(), rateBps: 100e6, bufferMs: 50 });
  const samples: SoakSample[] = [];
  try {
    const daemon = await startDaemon(tb, { metricsPort: 9477, extraYaml: 'flows:\n  quic:\n    ports: []\n  rtp:\n    enabled: true' });
    const pid = daemon.child.pid;
    const seconds = o.minutes * 60;
    const reflector = spawnGroup(tb, 'cli', process.execPath, [distScript('soak-traffic'), 'reflect'], 'ignore');
    const iperfServer = spawnGroup(tb, 'cli', 'iperf3', ['-s'], 'ignore');
    await sleep(500);
    const sender = spawnGroup(tb, 'srv', process.execPath, [distScript('soak-traffic'), 'send', '--to', tb.addrs.cli, '--pps', String(o.pps), '--seconds', String(seconds), '--flow-packets', String(o.flowPackets ?? 2000)], 'ignore');
    const t0 = Date.now();
    let stopTcp = false;
    const tcp = (async () => {
      while (!stopTcp && Date.now() - t0 < seconds * 1000 - 20_000) {
        const c = spawnGroup(tb, 'srv', 'iperf3', ['-c', tb.addrs.cli, '-t', '20', '-b', '5M', '-C', 'cubic'], 'ignore');
        await waitExit(c);
      }
    })();
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(10_000);
      const m = (await tb.exec('ap', process.execPath, ['-e', "fetch('http://127.0.0.1:9477/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"])).stdout;
      const status = pid !== undefined ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      samples.push({
        tS: (Date.now() - t0) / 1000,
        rssMiB: rssKb / 1024,
        lagP99Ms: metricValue(m, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        flowsActive: metricValue(m, 'zhuge_flows_active'),
        packetsTotal: metricSum(m, 'zhuge_packets_total'),
        lateness: buckets(m, 'zhuge_hold_lateness_seconds'),
        addedDelaySum: metricValue(m, 'zhuge_added_delay_seconds_sum'),
        addedDelayCount: metricValue(m, 'zhuge_added_delay_seconds_count'),
        foreignMac: metricValue(m, 'zhuge_uplink_foreign_mac_total'),
      });
      process.stdout.write(`${JSON.stringify({ ...samples.at(-1), lateness: undefined })}\n`);
    }
    stopTcp = true;
    await tcp;
    killGroup(sender);
    killGroup(reflector);
    killGroup(iperfServer);
    await daemon.stop();
  } finally {
    await tb.down();
  }
  const endS = samples.at(-1)?.tS ?? 0;
  return { samples, start: soakWindow(samples, 60, 180), end: soakWindow(samples, endS - 120, endS) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { minutes: { type: 'string', default: '30' }, pps: { type: 'string', default: '4000' }, 'flow-packets': { type: 'string', default: '2000' }, out: { type: 'string' } },
  });
  runSoak({ minutes: Number(values.minutes), pps: Number(values.pps), flowPackets: Number(values['flow-packets']) })
    .then((r) => {
      console.log(`start ${JSON.stringify(r.start)}\nend   ${JSON.stringify(r.end)}`);
      if (r.start !== undefined && r.end !== undefined) console.log(`RSS growth ${(((r.end.rssMiB - r.start.rssMiB) / r.start.rssMiB) * 100).toFixed(1)} %`);
      if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(r, null, 1));
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
