/**
 * NFQUEUE hold benchmark (root): UDP at several packet rates through a netns forwarder whose
 * FORWARD rule queues everything to our binding; every packet is held a fixed 5 ms with
 * setTimeout (one timer per delivered batch: the packets of a batch arrived together) and then
 * accepted, verdicts flushed in one sendmsg per timer.
 *
 * Prints, per rate: hold error p50/p99 measured from the kernel timestamp (NFQA_TIMESTAMP, when
 * the kernel gives one) and from the batch receive time in JS, end-to-end extra delay at the
 * receiver (one-way delay minus the hold) p50/p99, packets lost, batches, ENOBUFS / kernel queue
 * drops, and this process's CPU (process.cpuUsage over the run).
 *
 *   npx tsc -p tsconfig.build.json && sudo node dist/bench/nfqueue-hold.js [rates=1000,5000,10000,20000] [seconds=3]
 */
import { NfQueue, nfqueueAvailable, type NfqPacket } from '../src/daemon/nfqueue.js';
import { IptablesRules } from '../src/daemon/rules.js';
import { createLab, sendUdp, startReceiver, uniquePrefix, type Lab } from './nfqueue-lab.js';

const HOLD_MS = 5;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const wallNowUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

interface Row {
  rate: number;
  sent: number;
  received: number;
  lost: number;
  batches: number;
  maxBatch: number;
  holdErrKernelP50: number;
  holdErrKernelP99: number;
  kernelTsShare: number;
  holdErrRecvP50: number;
  holdErrRecvP99: number;
  e2eExtraP50: number;
  e2eExtraP99: number;
  enobufs: number;
  kernelDropped: number;
  cpuPct: number;
}

async function runRate(lab: Lab, rules: IptablesRules, queueNum: number, rate: number, seconds: number, port: number): Promise<Row> {
  await rules.install({ queueNum, wlanIf: lab.fIn, protocols: ['udp'] });
  const holdErrKernelUs: number[] = [];
  const holdErrRecvUs: number[] = [];
  let maxBatch = 0;
  const q: NfQueue = NfQueue.open({ queueNum, netns: lab.nsF }, (pkts: NfqPacket[]) => {
    const recvMono = performance.now();
    if (pkts.length > maxBatch) maxBatch = pkts.length;
    setTimeout(() => {
      const nowMono = performance.now();
      const nowWall = wallNowUs();
      for (const p of pkts) {
        q.accept(p.id);
        holdErrRecvUs.push((nowMono - recvMono) * 1000 - HOLD_MS * 1000);
        if (p.tsUs !== undefined) holdErrKernelUs.push(nowWall - p.tsUs - HOLD_MS * 1000);
      }
      q.flush();
    }, HOLD_MS);
  });
  const count = Math.round(rate * seconds);
  const rx = startReceiver(lab.nsB, port, 500, (seconds + 10) * 1000);
  await rx.ready;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sendUdp(lab.nsA, lab.ipB, port, count, rate, 100);
  const got = await rx.done;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const st = q.stats();
  q.close();
  await rules.remove();
  const e2e = got.map((r) => r.delayUs - HOLD_MS * 1000).sort((a, b) => a - b);
  holdErrKernelUs.sort((a, b) => a - b);
  holdErrRecvUs.sort((a, b) => a - b);
  return {
    rate,
    sent: count,
    received: got.length,
    lost: count - got.length,
    batches: st.batches ?? 0,
    maxBatch,
    holdErrKernelP50: pct(holdErrKernelUs, 50),
    holdErrKernelP99: pct(holdErrKernelUs, 99),
    kernelTsShare: st.receivedPackets > 0 ? holdErrKernelUs.length / st.receivedPackets : 0,
    holdErrRecvP50: pct(holdErrRecvUs, 50),
    holdErrRecvP99: pct(holdErrRecvUs, 99),
    e2eExtraP50: pct(e2e, 50),
    e2eExtraP99: pct(e2e, 99),
    enobufs: st.enobufs,
    kernelDropped: (st.kernelQueueDropped ?? 0) + (st.kernelUserDropped ?? 0),
    cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
  };
}

async function main(): Promise<void> {
  const avail = nfqueueAvailable();
  if (!avail.ok) {
    console.error(`nfqueue-hold: cannot run: ${avail.reason}`);
    process.exitCode = 2;
    return;
  }
  const rates = (process.argv[2] ?? '1000,5000,10000,20000').split(',').map(Number);
  const seconds = Number(process.argv[3] ?? '3');
  const lab = createLab(uniquePrefix('zbh'));
  const rules = new IptablesRules({ chainPrefix: 'ZBH', instanceId: lab.prefix.slice(3), netns: lab.nsF });
  const onSignal = (): void => {
    lab.teardown();
    process.exit(130);
  };
  process.once('uncaughtException', (e) => {
    console.error(e);
    lab.teardown();
    process.exit(1);
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Row[] = [];
  try {
    let port = 42000;
    let qn = 30;
    for (const rate of rates) rows.push(await runRate(lab, rules, ++qn, rate, seconds, ++port));
  } finally {
    try {
      await rules.remove();
    } finally {
      lab.teardown();
    }
  }
  const f = (us: number): string => (Number.isNaN(us) ? '-' : (us / 1000).toFixed(3));
  console.log(`NFQUEUE hold ${HOLD_MS} ms, UDP 100 B payload, ${seconds} s per rate (ms; hold error = actual hold - ${HOLD_MS} ms)`);
  console.log(
    'rate/s   sent   recv  lost  batches maxB | err(kern) p50   p99  kts% | err(recv) p50   p99 | e2e-extra p50   p99 | enobufs kdrop | cpu%',
  );
  for (const r of rows) {
    console.log(
      [
        String(r.rate).padStart(6),
        String(r.sent).padStart(6),
        String(r.received).padStart(6),
        String(r.lost).padStart(5),
        String(r.batches).padStart(8),
        String(r.maxBatch).padStart(4),
        '|',
        f(r.holdErrKernelP50).padStart(13),
        f(r.holdErrKernelP99).padStart(6),
        (r.kernelTsShare * 100).toFixed(0).padStart(4),
        '|',
        f(r.holdErrRecvP50).padStart(13),
        f(r.holdErrRecvP99).padStart(6),
        '|',
        f(r.e2eExtraP50).padStart(13),
        f(r.e2eExtraP99).padStart(6),
        '|',
        String(r.enobufs).padStart(7),
        String(r.kernelDropped).padStart(5),
        '|',
        r.cpuPct.toFixed(1).padStart(5),
      ].join(' '),
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
