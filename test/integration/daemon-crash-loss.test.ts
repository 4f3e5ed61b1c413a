/**
 * Integration (root + netns), issue 15's crash accounting: what a kill -9 of the daemon loses,
 * counted at the server. A download srv -> cli runs through the AP; its ACKs (cli -> srv) pass
 * NFQUEUE, where the ACK modes hold some. The link drops 20 -> 2 Mbit/s so the modes that hold
 * ACKs hold some; 400 ms later the daemon is killed. Every ACK the client sent (capture at the
 * client) is looked for at the server (capture at the server), by IP id, ACK number and TSval
 * (the window mode rewrites the window, nothing else).
 *
 * What the kernel does (net/netfilter/nfnetlink_queue.c): when the daemon's netlink socket goes,
 * the queue instance is destroyed and every packet still waiting for a verdict is dropped. So a
 * crash loses at most what the kernel queue held at that instant (nfqueue.maxLen bounds it). What
 * must hold, per mode:
 *  - no ACK lost before the kill or after the watchdog removed the rules: every loss is an ACK
 *    the client sent while the daemon held it;
 *  - the losses are at most the kernel queue's count read just before the kill plus the ACKs
 *    the client sent between that read and the kill;
 *  - the download goes on (TCP ACKs are cumulative: a lost one is made good by the next).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newPacketView } from '../../src/protocols/packet.js';
import { tcpTsVal } from '../../src/protocols/tcp.js';
import { startCapture, type Capture } from '../../testbed/capture.js';
import { decodedCapture } from '../../testbed/decoded-capture.js';
import { ackModeYaml, startDaemon, type AckMode, type DaemonProc } from '../../testbed/daemon-proc.js';
import { ApAgent } from '../../testbed/player.js';
import { down, randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { iperfDownload } from '../../testbed/traffic.js';
import { daemonUnavailable, ensureBuilt, hasZhugeRules, kernelQueueTotal, pollUntil, sleep } from './_helpers.js';

const why = daemonUnavailable();
const PREFIX = randomPrefix();
const MAX_LEN = 1024;

/** One ACK per row: key (IP id, ACK number, TSval) -> capture times (µs, wall), in order. */
function ackTimes(file: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const v = newPacketView();
  for (const r of decodedCapture(readFileSync(file), v)) {
    if (v.l4 !== 'tcp') continue;
    const ts = v.tcpTsOffset >= 0 ? tcpTsVal(r.data, v.tcpTsOffset) : -1;
    const key = `${v.ipId}:${v.tcpAck}:${ts}`;
    const times = out.get(key);
    if (times === undefined) out.set(key, [r.tUs]);
    else times.push(r.tUs);
  }
  return out;
}

/** The client's ACKs missing at the server: the capture times (µs) at the client of each. */
function lostAcks(sent: Map<string, number[]>, received: Map<string, number[]>): number[] {
  const lost: number[] = [];
  for (const [key, times] of sent) {
    const got = received.get(key)?.length ?? 0;
    // a key sent n times and received m < n times: the last n - m went missing
    for (const t of times.slice(got)) lost.push(t);
  }
  return lost.sort((a, b) => a - b);
}

describe.skipIf(why !== undefined)(`kill -9: what a crash loses, counted at the server (needs root and netns${why !== undefined ? `: skipped, ${why}` : ''})`, () => {
  let tb: Testbed;
  let agent: ApAgent | undefined;
  let daemon: DaemonProc | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'zhuge-crash-'));
  const rows: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: PREFIX, rateBps: 20e6, bufferMs: 100 });
    agent = await ApAgent.start(tb);
  }, 60_000);

  afterAll(async () => {
    console.log(`kill -9, ACKs of a 20 -> 2 Mbit/s download (client's ACKs counted at the server):\nmode        kernel queue   sent read->gone (ACKs)   kill->gone ms   lost   lost: ms from the kill\n${rows.join('\n')}`);
    agent?.close();
    if (daemon?.child.pid !== undefined) await daemon.stop().catch(() => undefined);
    await down(PREFIX);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it.each<AckMode>(['increments', 'drain', 'window'])('mode %s: losses only at the kill, at most what the kernel queue held', async (mode) => {
    const a = agent as ApAgent;
    await a.setRate(20e6);
    await sleep(500); // the queue of the last case drains
    daemon = await startDaemon(tb, { metricsPort: 9475, extraYaml: `${ackModeYaml(mode)}nfqueue:\n  maxLen: ${MAX_LEN}\n` });
    expect(await hasZhugeRules(tb)).toBe(true);
    const filter = 'tcp src port 5201';
    const caps: Capture[] = [
      await startCapture(tb, tb.ifaces.cli, 'outbound', join(dir, `${mode}-cli.pcap`), filter, { role: 'cli' }),
      await startCapture(tb, tb.ifaces.srv, 'inbound', join(dir, `${mode}-srv.pcap`), filter, { role: 'srv' }),
    ];
    const iperfP = iperfDownload(tb, { durationS: 5, intervalS: 0.1 });
    await sleep(2000);
    await a.setRate(2e6);
    await sleep(400);
    const pid = daemon.child.pid as number;
    const tReadUs = Date.now() * 1000;
    const queued = await kernelQueueTotal(tb);
    const tKillUs = Date.now() * 1000;
    // the socket goes only when the process is gone (its teardown takes some ms): the loss window ends there
    const exited = new Promise<number>((resolve) => daemon?.child.once('exit', () => resolve(Date.now() * 1000)));
    process.kill(pid, 'SIGKILL');
    const tExitUs = await exited;
    const goneMs = await pollUntil(async () => !(await hasZhugeRules(tb)), 3000);
    const iperf = await iperfP;
    await sleep(300); // the last ACKs reach the server
    for (const c of caps) c.child.kill('SIGTERM');
    await Promise.all(caps.map((c) => c.done));
    daemon = undefined;
    const sent = ackTimes(join(dir, `${mode}-cli.pcap`));
    const lost = lostAcks(sent, ackTimes(join(dir, `${mode}-srv.pcap`)));
    const sentBetween = [...sent.values()].flat().filter((t) => t >= tReadUs && t <= tExitUs).length;
    // --queue-bypass: once the socket is gone, a new ACK passes at once (1 ms for the hop to the AP)
    const afterExit = lost.filter((t) => t > tExitUs + 1000).length;
    const beforeRead = lost.filter((t) => t < tReadUs - 1000).length;
    rows.push(`${mode.padEnd(11)} ${String(queued).padStart(12)} ${String(sentBetween).padStart(22)} ${String(((tExitUs - tKillUs) / 1000).toFixed(1)).padStart(13)} ${String(lost.length).padStart(6)}   ${lost.map((t) => ((t - tKillUs) / 1000).toFixed(1)).join(', ')}`);
    expect(goneMs, 'the watchdog removed the rules').toBeDefined();
    expect(sent.size, 'ACKs captured at the client').toBeGreaterThan(500);
    expect(queued, 'the kernel queue readable').toBeGreaterThanOrEqual(0);
    expect(afterExit, `ACKs lost that the client sent after the daemon was gone (at ${lost.map((t) => ((t - tKillUs) / 1000).toFixed(1)).join(', ')} ms from the kill)`).toBe(0);
    expect(lost.length, 'lost: at most what the kernel queue held at the read, and what came until the socket went').toBeLessThanOrEqual(queued + sentBetween + beforeRead);
    expect(beforeRead, 'lost long before the kill: not held at all').toBeLessThanOrEqual(queued);
    expect(lost.length).toBeLessThanOrEqual(MAX_LEN);
    expect(iperf.receiver.length).toBeGreaterThan(0);
  }, 60_000);
});
