/**
 * Integration (root + netns): the live daemon when a part it depends on stops (issue 15, items 4
 * and 5). (a) The wlan interface set down and up again: the daemon keeps running, logs both,
 * reopens the wlan capture tap, and that tap sees the downlink again. (b) The watchdog process
 * killed again and again: restarted five times, then the daemon stops failing open and exits 1.
 * (c) The wlan interface deleted, then re-created as hostapd would (docs/operations.md, fail-open
 * behaviour): the daemon runs on, /healthz says the interface is gone, the rules stay; once it
 * is back its tap and queue backend are reopened within 2 s. (d) The filter table wiped under it (a firewall reload): the rules are
 * found missing and installed again within one check (5 s), counted in zhuge_rules_restored_total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { daemonUnavailable, ensureBuilt, hasZhugeRules, httpGetInAp, iptablesSave, metricValue, pollUntil, runProcess, sleep } from './_helpers.js';

const why = daemonUnavailable();
const PREFIX = randomPrefix();

interface TapStatus {
  taps: Array<{ device: string; delivered: number }>;
}

describe.skipIf(why !== undefined)(`daemon when an interface or its watchdog goes away (needs root and netns${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  let tb: Testbed;
  let daemon: DaemonProc | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: PREFIX, rateBps: 20e6, bufferMs: 50 });
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await down(PREFIX);
  }, 30_000);

  /** ICMP echo from srv to cli for `ms` (the downlink crosses both taps). */
  const pings = (ms: number): Promise<unknown> => tb.exec('srv', 'ping', ['-q', '-i', '0.02', '-w', String(Math.ceil(ms / 1000)), tb.addrs.cli], ms + 5000).catch(() => undefined);
  const wlanDelivered = async (d: DaemonProc): Promise<number> => (await d.status<TapStatus>()).taps.find((t) => t.device === tb.ifaces.apWlan)?.delivered ?? -1;

  it('wlan down, then up under traffic: logged, its tap reopened, and it sees the downlink again within 2 s', async () => {
    daemon = await startDaemon(tb, { metricsPort: 9476 });
    await pings(1000);
    expect(await wlanDelivered(daemon)).toBeGreaterThan(10);
    await tb.exec('ap', 'ip', ['link', 'set', tb.ifaces.apWlan, 'down']);
    await sleep(2500); // housekeeping runs every second
    // /healthz says why the daemon is blind, and the gauge says which problem
    const h = await httpGetInAp(tb, 9476, '/healthz');
    expect(h.code).toBe(503);
    expect(h.body).toContain(`interface ${tb.ifaces.apWlan} is down`);
    expect(metricValue((await httpGetInAp(tb, 9476, '/metrics')).body, 'zhuge_health_problem', { problem: 'interface_down' })).toBe(1);
    const d = daemon;
    const deliveredDown = await wlanDelivered(d);
    const upAt = Date.now();
    await tb.exec('ap', 'ip', ['link', 'set', tb.ifaces.apWlan, 'up']);
    // under traffic: pings every 20 ms from the moment the interface is back (a ping started
    // while it is down gets "unreachable" and stops)
    const traffic = pings(4000);
    const reopenedMs = await pollUntil(async () => d.logLines.some((l) => l.includes('is up again: reopening its tap')), 4000, 50);
    expect(reopenedMs, d.logLines.slice(-20).join('\n')).toBeDefined();
    // treatment resumes when the reopened tap sees the downlink again (its count restarts with the tap)
    const seen = await pollUntil(async () => {
      const n = await wlanDelivered(d);
      return n > 0 && n !== deliveredDown;
    }, 4000, 50);
    const seesMs = seen === undefined ? undefined : Date.now() - upAt;
    expect(d.logLines.some((l) => l.includes(`interface ${tb.ifaces.apWlan} is down`))).toBe(true);
    const before = await wlanDelivered(d);
    await traffic;
    const after = await wlanDelivered(d);
    console.log(`wlan down/up under traffic: reopened after ${reopenedMs?.toFixed(0)} ms, the tap saw the downlink again ${seesMs?.toFixed(0)} ms after the link came up; wlan tap delivered ${before} -> ${after}`);
    // the issue's bound: treatment resumes within 2 s of the interface's return
    expect(seesMs).toBeLessThan(2000);
    expect(after - before).toBeGreaterThan(20);
    expect(d.child.exitCode).toBeNull();
    expect((await httpGetInAp(tb, 9476, '/healthz')).code).toBe(200);
  }, 60_000);

  it('a firewall reload wipes the filter table: zhuge finds its rules gone and installs them again within 6 s, counted', async () => {
    const d = daemon ?? (await startDaemon(tb, { metricsPort: 9476 }));
    daemon = d;
    expect(await hasZhugeRules(tb)).toBe(true);
    // what fw3's `firewall restart` (or a script's iptables -F; iptables -X) does to the filter table
    await tb.exec('ap', 'iptables', ['-w', '-F']);
    await tb.exec('ap', 'iptables', ['-w', '-X']);
    // no look at the table here: the keeper may already have put the rules back (a clean-clone CI
    // run saw them back before this line's iptables-save ran). That they were gone is what
    // zhuge_rules_restored_total = 1 and the warning below say.
    const t0 = Date.now();
    const backMs = await pollUntil(async () => /-A FORWARD .*-j ZHUGE/.test(await iptablesSave(tb)) && /-j NFQUEUE/.test(await iptablesSave(tb)), 8000, 100);
    console.log(`rules wiped: back after ${String(backMs?.toFixed(0))} ms`);
    expect(backMs, d.logLines.slice(-8).join('\n')).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(7000); // checked every 5 s
    expect(d.logLines.some((l) => l.includes('were removed by something else') && l.includes('"level":"warn"'))).toBe(true);
    const m = await httpGetInAp(tb, 9476, '/metrics');
    expect(metricValue(m.body, 'zhuge_rules_restored_total')).toBe(1);
    expect(metricValue(m.body, 'zhuge_rules_installed')).toBe(1);
    expect((await httpGetInAp(tb, 9476, '/healthz')).code).toBe(200);
    expect(d.child.exitCode).toBeNull();
  }, 30_000);

  it('the watchdog killed six times within a minute: restarted five times, then rules removed and exit 1', async () => {
    await daemon?.stop().catch(() => undefined);
    const d = await startDaemon(tb, { metricsPort: 9476 });
    daemon = d;
    const watchdogPid = async (): Promise<number | undefined> => {
      const r = await runProcess('pgrep', ['-P', String(d.child.pid), '-x', 'zhuge-watchdog']); // the native watchdog (native/watchdog), the daemon's child
      const pid = Number.parseInt(r.stdout.trim().split('\n')[0] ?? '', 10);
      return Number.isInteger(pid) ? pid : undefined;
    };
    const exited = new Promise<number | null>((r) => d.child.once('exit', (c) => r(c)));
    let killed = 0;
    let last: number | undefined;
    for (let k = 0; k < 6; k++) {
      let pid: number | undefined;
      await pollUntil(async () => {
        pid = await watchdogPid();
        return pid !== undefined && pid !== last;
      }, 5000, 50);
      if (pid === undefined || pid === last) break;
      await sleep(300); // started and ready
      process.kill(pid, 'SIGKILL');
      last = pid;
      killed++;
    }
    const code = await Promise.race([exited, sleep(5000).then(() => 'timeout' as const)]);
    console.log(`watchdog killed ${killed} times: daemon exit ${String(code)}`);
    if (killed !== 6) console.log(d.logLines.slice(-12).join("\n"));
    expect(killed).toBe(6);
    expect(code, d.logLines.slice(-10).join('\n')).toBe(1);
    expect(d.logLines.filter((l) => l.includes('the watchdog exited (code null, signal SIGKILL): restarting it'))).toHaveLength(5);
    expect(d.logLines.some((l) => l.includes('the watchdog exited 6 times within 60 s') && l.includes('"level":"fatal"'))).toBe(true);
    expect(await hasZhugeRules(tb)).toBe(false);
    daemon = undefined;
  }, 60_000);

  it('the wlan qdisc removed (noqueue): /healthz 503 says the queue is invisible, 200 again once a queue is back', async () => {
    const d = daemon ?? (await startDaemon(tb, { metricsPort: 9476 }));
    daemon = d;
    expect((await httpGetInAp(tb, 9476, '/healthz')).code).toBe(200);
    const saved = (await tb.exec('ap', 'tc', ['qdisc', 'show', 'dev', tb.ifaces.apWlan])).stdout;
    await tb.exec('ap', 'tc', ['qdisc', 'del', 'dev', tb.ifaces.apWlan, 'root']);
    const redMs = await pollUntil(async () => (await httpGetInAp(tb, 9476, '/healthz')).code === 503, 3000, 100);
    const h = await httpGetInAp(tb, 9476, '/healthz');
    console.log(`qdisc removed (was: ${saved.split('\n')[0] ?? ''}): /healthz 503 after ${String(redMs?.toFixed(0))} ms: ${h.body.trim()}`);
    expect(redMs).toBeDefined();
    expect(h.body).toContain('the Wi-Fi queue is invisible');
    await pollUntil(async () => metricValue((await httpGetInAp(tb, 9476, '/metrics')).body, 'zhuge_health_problem', { problem: 'queue_invisible' }) === 1, 2000, 100);
    expect(metricValue((await httpGetInAp(tb, 9476, '/metrics')).body, 'zhuge_health_problem', { problem: 'queue_invisible' })).toBe(1);
    // an operator adds a shaper back
    await tb.exec('ap', 'tc', ['qdisc', 'add', 'dev', tb.ifaces.apWlan, 'root', 'tbf', 'rate', '20mbit', 'burst', '32k', 'latency', '50ms']);
    const greenMs = await pollUntil(async () => (await httpGetInAp(tb, 9476, '/healthz')).code === 200, 3000, 100);
    expect(greenMs).toBeDefined();
    expect(d.child.exitCode).toBeNull();
  }, 30_000);

  /** The wlan interface made again as hostapd or netifd would: same names, addresses, route, shaper. */
  const recreateWlan = async (): Promise<void> => {
    const { apWlan, cli } = tb.ifaces;
    await tb.exec('ap', 'ip', ['link', 'add', apWlan, 'type', 'veth', 'peer', 'name', cli, 'netns', tb.ns.cli]);
    await tb.exec('ap', 'ip', ['addr', 'add', `${tb.addrs.apWlan}/24`, 'dev', apWlan]);
    await tb.exec('cli', 'ip', ['addr', 'add', `${tb.addrs.cli}/24`, 'dev', cli]);
    for (const [role, dev] of [['ap', apWlan], ['cli', cli]] as const) {
      await tb.exec(role, 'ethtool', ['-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
      await tb.exec(role, 'ip', ['link', 'set', dev, 'up']);
    }
    await tb.exec('cli', 'ip', ['route', 'add', tb.d.subnet, 'via', tb.addrs.apWlan]);
    await tb.exec('ap', 'tc', ['qdisc', 'add', 'dev', apWlan, 'root', 'handle', '1:', 'htb', 'default', '1']);
    await tb.exec('ap', 'tc', ['class', 'add', 'dev', apWlan, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '20mbit', 'ceil', '20mbit', 'quantum', '60000']);
    await tb.exec('ap', 'tc', ['qdisc', 'add', 'dev', apWlan, 'parent', '1:1', 'handle', '10:', 'bfifo', 'limit', '125000']);
  };

  it('wlan deleted, then re-created under traffic: zhuge runs on (503 interface_gone, rules kept), then its tap and queue backend reopened, the downlink seen and 200 again within 2 s', async () => {
    const d = daemon ?? (await startDaemon(tb, { metricsPort: 9476 }));
    daemon = d;
    expect(await hasZhugeRules(tb), d.logLines.slice(-5).join('\n')).toBe(true);
    await tb.exec('ap', 'ip', ['link', 'del', tb.ifaces.apWlan]);
    const goneMs = await pollUntil(async () => (await httpGetInAp(tb, 9476, '/healthz')).body.includes(`interface ${tb.ifaces.apWlan} does not exist`), 3000, 100);
    expect(goneMs, d.logLines.slice(-10).join('\n')).toBeDefined();
    expect(metricValue((await httpGetInAp(tb, 9476, '/metrics')).body, 'zhuge_health_problem', { problem: 'interface_gone' })).toBe(1);
    expect(d.child.exitCode).toBeNull();
    expect(await hasZhugeRules(tb)).toBe(true);
    expect(await wlanDelivered(d)).toBe(-1); // its tap closed
    const t0 = Date.now();
    await recreateWlan();
    const madeMs = Date.now() - t0;
    const backAt = Date.now();
    const traffic = pings(4000);
    const seenMs = await pollUntil(async () => (await wlanDelivered(d)) > 0, 4000, 50);
    // from the re-creation, not from the tap's reopening
    const greenMs = (await pollUntil(async () => (await httpGetInAp(tb, 9476, '/healthz')).code === 200, 4000, 100)) === undefined ? undefined : Date.now() - backAt;
    const h = await httpGetInAp(tb, 9476, '/healthz');
    console.log(
      `wlan deleted: /healthz says gone after ${String(goneMs?.toFixed(0))} ms; re-created in ${madeMs} ms, then its tap sees the downlink after ${String(seenMs?.toFixed(0))} ms, /healthz 200 after ${String(greenMs?.toFixed(0))} ms (${h.body.trim()})`,
    );
    expect(d.logLines.some((l) => l.includes(`interface ${tb.ifaces.apWlan} vanished`))).toBe(true);
    expect(d.logLines.some((l) => l.includes(`the queue backend reopened on ${tb.ifaces.apWlan}`)), d.logLines.slice(-10).join('\n')).toBe(true);
    expect(seenMs).toBeDefined();
    expect(seenMs ?? Infinity).toBeLessThan(2000);
    // 200 needs the queue backend reading the new interface: the old one read by the old ifindex finds no qdisc (queue_invisible)
    expect(greenMs, h.body).toBeDefined();
    expect(greenMs ?? Infinity).toBeLessThan(2000);
    const before = await wlanDelivered(d);
    await traffic;
    expect(await wlanDelivered(d)).toBeGreaterThan(before);
    expect(d.child.exitCode).toBeNull();
  }, 40_000);
});
