/**
 * The daemon's overhead: the real `zhuge run` process in the ap namespace, its CPU time
 * (/proc/<pid>/stat utime + stime) and RSS (/proc/<pid>/status VmRSS, VmHWM) over a window of
 * load: idle, UDP floods srv -> cli at given packet rates (iperf3 -u, 1200-byte datagrams) and
 * TCP downloads with N parallel flows (iperf3 -P N, the total capped). The bottleneck is set far
 * above the offered load (1 Gbit/s) so the packet rate is what was offered.
 */
import { readFileSync } from 'node:fs';
import { startDaemon } from '../daemon-proc.js';
import type { Testbed } from '../topology.js';
import { monoNowMs, sleep } from '../traffic.js';
import { withEvalLab } from './lab.js';
import { r3, type EvalResult, type EvalRun } from './stats.js';

export interface OverheadEvalOptions {
  /** UDP packet rates (packets/s) */
  pps: number[];
  /** parallel TCP flow counts */
  flows: number[];
  /** total rate of the TCP loads, Mbit/s */
  flowsTotalMbps: number;
  durationS: number;
  repeat: number;
}

/** CPU ticks (utime + stime) from a /proc/<pid>/stat line (the comm field may hold spaces). */
export function parseProcStatTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after comm start at 3 (state); utime is field 14, stime 15
  const ut = Number(rest[11]);
  const st = Number(rest[12]);
  if (!Number.isFinite(ut) || !Number.isFinite(st)) throw new Error('unreadable /proc/<pid>/stat');
  return ut + st;
}

/** kB of a `Name:   123 kB` line of /proc/<pid>/status. */
export function parseStatusKb(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return m?.[1] !== undefined ? Number(m[1]) : Number.NaN;
}

const CLK_TCK = 100;

interface Load {
  label: string;
  pps?: number;
  flows?: number;
}

async function iperfLoad(tb: Testbed, load: Load, o: OverheadEvalOptions, port: number): Promise<{ packets: number; bytes: number }> {
  if (load.pps === undefined && load.flows === undefined) {
    await sleep(o.durationS * 1000);
    return { packets: 0, bytes: 0 };
  }
  const server = tb.spawn('cli', 'iperf3', ['-s', '-1', '-B', tb.addrs.cli, '-p', String(port)]);
  try {
    const deadline = monoNowMs() + 5000;
    while ((await tb.exec('cli', 'ss', ['-ltnH', `sport = :${port}`])).stdout.trim() === '') {
      if (monoNowMs() > deadline) throw new Error('iperf3 server did not start');
      await sleep(20);
    }
    const args = ['-c', tb.addrs.cli, '-p', String(port), '-t', String(o.durationS), '--json'];
    if (load.pps !== undefined) args.push('-u', '-l', '1200', '-b', String(load.pps * 1200 * 8));
    else args.push('-P', String(load.flows), '-b', String(Math.max(1000, Math.round((o.flowsTotalMbps * 1e6) / (load.flows ?? 1)))));
    const r = await tb.exec('srv', 'iperf3', args, (o.durationS + 15) * 1000);
    const j = JSON.parse(r.stdout) as { end?: { sum?: { packets?: number; bytes?: number }; sum_received?: { bytes?: number } } };
    return { packets: j.end?.sum?.packets ?? 0, bytes: j.end?.sum_received?.bytes ?? j.end?.sum?.bytes ?? 0 };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

export const OVERHEAD_LABELS: Array<[string, string]> = [
  ['cpuPercent', 'daemon CPU (% of one core)'],
  ['rssMiB', 'daemon RSS at the end (MiB)'],
  ['peakRssMiB', 'daemon peak RSS (MiB)'],
  ['offeredPps', 'offered packet rate (packets/s)'],
  ['flows', 'parallel flows'],
  ['goodputMbps', 'delivered (Mbit/s)'],
];

export async function runOverheadEval(o: OverheadEvalOptions, progress: (line: string) => void, log: (line: string) => void, onRun: (r: EvalRun) => void = () => undefined): Promise<EvalResult> {
  const loads: Load[] = [{ label: 'idle' }, ...o.pps.map((p) => ({ label: `udp ${p} pps`, pps: p })), ...o.flows.map((f) => ({ label: `tcp ${f} flows`, flows: f }))];
  const runs: EvalRun[] = [];
  await withEvalLab({ rateBps: 1e9, bufferMs: 20, baseDelayMsEachWay: 0 }, async (tb) => {
    log(`testbed ${tb.prefix}: 1 Gbit/s bottleneck, no relay; the daemon in ${tb.ns.ap}`);
    const daemon = await startDaemon(tb);
    try {
      const pid = daemon.child.pid;
      if (pid === undefined) throw new Error('daemon has no pid');
      // `ip netns exec` execs the command: the pid is node's
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (!comm.startsWith('node')) log(`note: /proc/${pid}/comm is '${comm}', not node: figures may be of the wrong process`);
      await sleep(1000);
      for (let rep = 0; rep < o.repeat; rep++) {
        for (const load of loads) {
          const tag = `run ${runs.length + 1}/${loads.length * o.repeat} ${load.label}`;
          const ticks0 = parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
          const t0 = monoNowMs();
          const ticker = setInterval(() => progress(`${tag}  t=${((monoNowMs() - t0) / 1000).toFixed(0)} s of ${o.durationS} s`), 1000);
          const r = await iperfLoad(tb, load, o, 5301).finally(() => clearInterval(ticker));
          const ticks1 = parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
          const windowS = (monoNowMs() - t0) / 1000;
          const status = readFileSync(`/proc/${pid}/status`, 'utf8');
          const metrics: Record<string, number> = {
            cpuPercent: r3((100 * (ticks1 - ticks0)) / CLK_TCK / windowS),
            rssMiB: r3(parseStatusKb(status, 'VmRSS') / 1024),
            peakRssMiB: r3(parseStatusKb(status, 'VmHWM') / 1024),
            offeredPps: load.pps ?? 0,
            flows: load.flows ?? 0,
            goodputMbps: r3((r.bytes * 8) / windowS / 1e6),
            windowS: r3(windowS),
          };
          const entry: EvalRun = { zhuge: true, sender: load.pps !== undefined ? 'udp' : load.flows !== undefined ? 'tcp' : 'idle', load: load.label, rep, metrics };
          runs.push(entry);
          onRun(entry);
          log(`${tag}: CPU ${metrics['cpuPercent']} %, RSS ${metrics['rssMiB']} MiB, ${metrics['goodputMbps']} Mbit/s`);
        }
      }
    } finally {
      await daemon.stop();
    }
  });
  return {
    experiment: 'overhead',
    scenario: { ...o },
    runs,
    metricLabels: OVERHEAD_LABELS,
    notes: [`CPU from /proc/<pid>/stat (utime + stime, ${CLK_TCK} ticks/s) over each load window; RSS from /proc/<pid>/status; every load runs with zhuge (there is no 'without' arm)`],
  };
}
