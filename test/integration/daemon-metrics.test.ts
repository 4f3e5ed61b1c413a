/**
 * Integration (root + netns): the live daemon's /metrics and /status during an iperf3 download,
 * scraped from inside the ap namespace with curl; `promtool check metrics` on the text; SIGHUP
 * reloads (broken config kept out, valid config applied) counted by result.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonConfigYaml, startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { iperfDownload } from '../../testbed/traffic.js';
import { CLI_JS, daemonUnavailable, ensureBuilt, httpGetInAp, iptablesSave, metricValue, pollUntil, runProcess, sleep } from './_helpers.js';

const why = daemonUnavailable();
const PREFIX = randomPrefix();
const PORT = 9481;

const hasPromtool = (await runProcess('sh', ['-c', 'command -v promtool'])).code === 0;

interface StatusFlow {
  flow: string;
  protocol: string;
  mode: string;
  predictedDelayMs: number;
  downPackets: number;
  upPackets: number;
  heldTotal: number;
}

describe.skipIf(why !== undefined)(`daemon metrics and status (needs root and netns${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  let tb: Testbed;
  let daemon: DaemonProc | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: PREFIX, rateBps: 20e6, bufferMs: 50 });
    daemon = await startDaemon(tb, { metricsPort: PORT });
  }, 60_000);

  afterAll(async () => {
    if (daemon !== undefined) await daemon.stop().catch(() => undefined);
    await down(PREFIX);
  }, 30_000);

  const scrape = async (): Promise<string> => {
    const r = await httpGetInAp(tb, PORT, '/metrics');
    expect(r.code).toBe(200);
    return r.body;
  };

  it('during a transfer: key metrics present, packet counters move, /status has flows with predictions', async () => {
    const iperfP = iperfDownload(tb, { durationS: 5, intervalS: 0.5 });
    await sleep(2500);
    const m1 = await scrape();
    await sleep(1500); // the daemon copies counters into prom-client once a second
    const m2 = await scrape();
    const st = (await daemon?.status()) as { flows: StatusFlow[]; rulesInstalled: boolean; lastPrediction?: { totalMs: number } };
    await iperfP;
    for (const name of [
      'zhuge_build_info',
      'zhuge_packets_total',
      'zhuge_predicted_delay_seconds_bucket',
      'zhuge_added_delay_seconds_count',
      'zhuge_held_packets',
      'zhuge_flows_active',
      'zhuge_queue_backlog_bytes',
      'zhuge_rules_installed',
      'zhuge_config_reloads_total',
      'zhuge_watchdog_trips_total',
    ]) {
      expect(m2, name).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
    const down1 = metricValue(m1, 'zhuge_packets_total', { direction: 'downlink', protocol: 'tcp' }) ?? 0;
    const down2 = metricValue(m2, 'zhuge_packets_total', { direction: 'downlink', protocol: 'tcp' }) ?? 0;
    const up1 = metricValue(m1, 'zhuge_packets_total', { direction: 'uplink', protocol: 'tcp' }) ?? 0;
    const up2 = metricValue(m2, 'zhuge_packets_total', { direction: 'uplink', protocol: 'tcp' }) ?? 0;
    const pred1 = metricValue(m1, 'zhuge_predicted_delay_seconds_count') ?? 0;
    const pred2 = metricValue(m2, 'zhuge_predicted_delay_seconds_count') ?? 0;
    console.log(`metrics: downlink tcp ${down1} -> ${down2}, uplink tcp ${up1} -> ${up2}, predictions ${pred1} -> ${pred2}, flows ${JSON.stringify(st.flows.map((f) => [f.flow, f.predictedDelayMs, f.heldTotal]))}`);
    // 20 Mbit/s of 1500-byte packets is ~1700 packets/s: over >= 1 s the counters moved by hundreds
    expect(down2 - down1).toBeGreaterThan(500);
    expect(up2 - up1).toBeGreaterThan(100);
    expect(pred2 - pred1).toBeGreaterThan(500);
    // the queue model keeps up: nearly every departure in the interval found its arrival
    const matched = (metricValue(m2, 'zhuge_queue_model_events_total', { event: 'matched' }) ?? 0) - (metricValue(m1, 'zhuge_queue_model_events_total', { event: 'matched' }) ?? 0);
    const unmatched = (metricValue(m2, 'zhuge_queue_model_events_total', { event: 'unmatched_departure' }) ?? 0) - (metricValue(m1, 'zhuge_queue_model_events_total', { event: 'unmatched_departure' }) ?? 0);
    console.log(`queue model: matched ${matched}, unmatched departures ${unmatched}`);
    expect(matched).toBeGreaterThan(500);
    expect(unmatched).toBeLessThan(0.01 * matched);
    expect(metricValue(m2, 'zhuge_rules_installed')).toBe(1);
    expect(metricValue(m2, 'zhuge_flows_active') ?? 0).toBeGreaterThanOrEqual(1);
    expect(st.rulesInstalled).toBe(true);
    // iperf3's data connection (its control connection on the same port carries a few packets)
    const f = st.flows.filter((x) => x.protocol === 'tcp' && x.flow.includes(':5201')).sort((a, b) => b.downPackets - a.downPackets)[0];
    expect(f, JSON.stringify(st.flows)).toBeDefined();
    expect(f?.mode).toBe('ack-delay');
    expect(f?.downPackets ?? 0).toBeGreaterThan(1000);
    expect(f?.upPackets ?? 0).toBeGreaterThan(100);
    // a prediction was made for this flow: at least the transmission time of one packet at 20 Mbit/s (0.6 ms)
    expect(f?.predictedDelayMs ?? 0).toBeGreaterThan(0.5);
    expect(st.lastPrediction?.totalMs ?? 0).toBeGreaterThan(0);

    if (!hasPromtool) {
      console.log('promtool check metrics: SKIPPED (promtool not installed)');
      return;
    }
    const path = `/tmp/zhuge-metrics-${PREFIX}.txt`;
    writeFileSync(path, m2);
    const r = await runProcess('sh', ['-c', `promtool check metrics < ${path}`]);
    console.log(`promtool check metrics: exit ${String(r.code)} ${r.stdout}${r.stderr}`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 40_000);

  it('SIGHUP with a broken config: keeps running and logs why; reloads{result="error"} increments', async () => {
    const d = daemon as DaemonProc;
    const before = metricValue(await scrape(), 'zhuge_config_reloads_total', { result: 'error' }) ?? 0;
    writeFileSync(d.configPath, `${daemonConfigYaml(tb, { metricsPort: PORT })}\nfortuneTeller:\n  rateWindowMs: fast\n`);
    process.kill(d.child.pid as number, 'SIGHUP');
    const logged = await pollUntil(async () => d.logLines.some((l) => l.includes('reload refused')), 3000);
    await sleep(200);
    const after = metricValue(await scrape(), 'zhuge_config_reloads_total', { result: 'error' }) ?? 0;
    const line = d.logLines.find((l) => l.includes('reload refused')) ?? '';
    console.log(`SIGHUP broken: reloads error ${before} -> ${after}; log: ${line.slice(0, 300)}`);
    expect(logged).toBeDefined();
    expect(line).toMatch(/rateWindowMs/);
    expect(after).toBe(before + 1);
    expect(d.child.exitCode).toBeNull();
    expect((await httpGetInAp(tb, PORT, '/healthz')).code).toBe(200);
    expect(await iptablesSave(tb)).toMatch(/ZHUGE/);
  }, 20_000);

  it('a second zhuge on the same chain exits 5 before touching anything: the first keeps its rules and stays healthy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-second-'));
    const cfg = join(dir, 'zhuge.yaml');
    // another metrics port, so the lock (not the port) is what refuses it
    writeFileSync(cfg, daemonConfigYaml(tb, { metricsPort: PORT + 10 }));
    const r = await runProcess('ip', ['netns', 'exec', tb.ns.ap, process.execPath, CLI_JS, 'run', '--config', cfg], 20_000);
    console.log(`second instance: exit ${String(r.code)}: ${r.stderr.trim()}`);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/already owns chain ZHUGE.*did not touch its rules/);
    expect(await iptablesSave(tb)).toMatch(/-A FORWARD .*-j ZHUGE/);
    expect((await httpGetInAp(tb, PORT, '/healthz')).code).toBe(200);
    expect((daemon as DaemonProc).child.exitCode).toBeNull();
  }, 30_000);

  it('nfqueue.chain FORWARD: refused with exit 3 and the file:line:col, the host firewall untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-chain-'));
    const cfg = join(dir, 'zhuge.yaml');
    writeFileSync(cfg, `${daemonConfigYaml(tb, { metricsPort: PORT + 11 })}\nnfqueue:\n  chain: FORWARD\n`);
    // a rule of the host's own in FORWARD, which a flush of the chain would take away
    await tb.exec('ap', 'iptables', ['-w', '-A', 'FORWARD', '-s', '198.51.100.7', '-j', 'DROP']);
    try {
      const before = await iptablesSave(tb);
      const r = await runProcess('ip', ['netns', 'exec', tb.ns.ap, process.execPath, CLI_JS, 'run', '--config', cfg], 20_000);
      console.log(`chain FORWARD: exit ${String(r.code)}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/zhuge\.yaml:\d+:\d+: nfqueue\.chain/);
      const strip = (t: string): string => t.split('\n').filter((l) => !l.startsWith('#') && !/^:\S+ \S+ \[\d+:\d+\]$/.test(l)).join('\n');
      expect(strip(await iptablesSave(tb))).toBe(strip(before)); // counters aside, nothing changed
      expect(await iptablesSave(tb)).toMatch(/-A FORWARD -s 198\.51\.100\.7\/32 -j DROP/);
    } finally {
      await tb.exec('ap', 'iptables', ['-w', '-D', 'FORWARD', '-s', '198.51.100.7', '-j', 'DROP']);
    }
    expect((daemon as DaemonProc).child.exitCode).toBeNull();
  }, 30_000);

  it('SIGHUP with a valid changed config: reloads{result="ok"} increments and the new port list is in the rules', async () => {
    const d = daemon as DaemonProc;
    const m0 = await scrape();
    const okBefore = metricValue(m0, 'zhuge_config_reloads_total', { result: 'ok' }) ?? 0;
    const errBefore = metricValue(m0, 'zhuge_config_reloads_total', { result: 'error' }) ?? 0;
    expect(await iptablesSave(tb)).not.toMatch(/--ports 5201/);
    // RTP treatment matches every UDP port: off, the rules match the TCP and QUIC ports only
    writeFileSync(d.configPath, daemonConfigYaml(tb, { metricsPort: PORT, extraYaml: 'flows:\n  tcp:\n    ports: [5201]\n  rtp:\n    enabled: false\n' }));
    process.kill(d.child.pid as number, 'SIGHUP');
    const applied = await pollUntil(async () => /--ports 5201/.test(await iptablesSave(tb)), 3000, 50);
    const m1 = await scrape();
    const okAfter = metricValue(m1, 'zhuge_config_reloads_total', { result: 'ok' }) ?? 0;
    console.log(`SIGHUP valid: reloads ok ${okBefore} -> ${okAfter}; rules updated after ${applied?.toFixed(0)} ms`);
    expect(applied).toBeDefined();
    expect(okAfter).toBe(okBefore + 1);
    expect(metricValue(m1, 'zhuge_config_reloads_total', { result: 'error' }) ?? 0).toBe(errBefore);
    expect(d.child.exitCode).toBeNull();
    expect(d.logLines.some((l) => l.includes('configuration reloaded'))).toBe(true);
  }, 20_000);

  it('queue.rateFrom shaper: /status shows the htb ceil, and a rate change is seen within a few reads', async () => {
    await daemon?.stop();
    daemon = undefined;
    const d = await startDaemon(tb, { metricsPort: PORT + 2, extraYaml: 'queue:\n  rateFrom: shaper\n' });
    type Q = { queues: Array<{ shaperRateBps?: number; shaperProblem?: string }> };
    try {
      const first = await pollUntil(async () => (((await d.status()) as Q).queues[0]?.shaperRateBps ?? 0) > 0, 3000, 50);
      if (first === undefined) console.log(`rateFrom shaper: ${JSON.stringify(((await d.status()) as Q).queues)} ${d.logLines.filter((l) => l.includes('shaper')).join(' | ')}`);
      expect(first).toBeDefined();
      expect(((await d.status()) as Q).queues[0]).toMatchObject({ shaperRateBps: 20e6 });
      await tb.exec('ap', 'tc', ['class', 'change', 'dev', tb.ifaces.apWlan, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '5mbit', 'ceil', '5mbit']);
      const changed = await pollUntil(async () => ((await d.status()) as Q).queues[0]?.shaperRateBps === 5e6, 3000, 20);
      expect(changed).toBeDefined();
      expect(((await d.status()) as Q).queues[0]?.shaperProblem).toBeUndefined();
    } finally {
      await d.stop();
      await tb.exec('ap', 'tc', ['class', 'change', 'dev', tb.ifaces.apWlan, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '20mbit', 'ceil', '20mbit']);
      daemon = await startDaemon(tb, { metricsPort: PORT });
    }
  }, 30_000);

  it('a wlan qdisc that holds no queue (noqueue, as on OpenWrt\'s mac80211 drivers): a warning at start and visible false in /status', async () => {
    // the testbed's htb + bfifo: a queue the backend sees, and nothing said about it
    const st0 = (await daemon?.status()) as { queues: Array<{ visible?: boolean }> };
    expect(st0.queues[0]?.visible).toBe(true);
    expect(daemon?.logLines.some((l) => l.includes('noqueue'))).toBe(false);
    await daemon?.stop();
    daemon = undefined;
    // a veth without its root qdisc falls back to noqueue
    await tb.exec('ap', 'tc', ['qdisc', 'del', 'dev', tb.ifaces.apWlan, 'root']);
    const qd = await runProcess('ip', ['netns', 'exec', tb.ns.ap, 'tc', 'qdisc', 'show', 'dev', tb.ifaces.apWlan]);
    expect(qd.stdout).toMatch(/noqueue/);
    const d = await startDaemon(tb, { metricsPort: PORT + 1 });
    try {
      const line = d.logLines.find((l) => l.includes('noqueue')) ?? '';
      console.log(`noqueue: ${line.slice(0, 240)}`);
      expect(line).toMatch(/"level":"warn"/);
      expect(line).toMatch(/qdisc is noqueue/);
      const st = (await d.status()) as { queues: Array<{ name: string; visible?: boolean }> };
      expect(st.queues[0]).toMatchObject({ name: tb.ifaces.apWlan, visible: false });
      expect(d.child.exitCode).toBeNull();
      // a queueing qdisc added while it runs is seen at the next backlog read (every 100 ms)
      await tb.exec('ap', 'tc', ['qdisc', 'add', 'dev', tb.ifaces.apWlan, 'root', 'bfifo', 'limit', '100000']);
      const seen = await pollUntil(async () => ((await d.status()) as { queues: Array<{ visible?: boolean }> }).queues[0]?.visible === true, 3000, 100);
      expect(seen).toBeDefined();
    } finally {
      await d.stop();
    }
  }, 30_000);
});
