/**
 * Least privilege: the daemon runs as an unprivileged user (nobody) holding only CAP_NET_ADMIN and
 * CAP_NET_RAW, as the systemd unit's AmbientCapabilities or procd's `capabilities` give them, in
 * the testbed's AP namespace. It must start, install its rules (iptables-nft needs only
 * CAP_NET_ADMIN), capture, treat a TCP download's ACKs, keep its watchdog under the same user,
 * and remove its rules on SIGTERM. The memory of both processes is printed (docs/benchmarks.md).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { daemonUnavailable, ensureBuilt, hasZhugeRules, iperfReverse } from './_helpers.js';

const NOBODY = { uid: 65534, gid: 65534 };

function procStatus(pid: number): { uid: number; capEff: bigint; rssKiB: number } {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  const num = (re: RegExp): string => re.exec(t)?.[1] ?? '0';
  return { uid: Number(num(/^Uid:\s+(\d+)/m)), capEff: BigInt(`0x${num(/^CapEff:\s+([0-9a-f]+)/m)}`), rssKiB: Number(num(/^VmRSS:\s+(\d+)/m)) };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe.skipIf(daemonUnavailable() !== undefined)(`zhuge run as nobody with CAP_NET_ADMIN + CAP_NET_RAW only (${daemonUnavailable() ?? 'root, netns'})`, () => {
  let tb: Testbed | undefined;
  let daemon: DaemonProc | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tb = await up({ prefix: randomPrefix(), rateBps: 30e6 });
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await tb?.down();
  });

  it('starts, treats a download, runs its watchdog unprivileged too, and removes its rules on SIGTERM', async () => {
    if (tb === undefined) throw new Error('no testbed');
    daemon = await startDaemon(tb, { metricsPort: 9494, asUser: NOBODY });
    const pid = daemon.child.pid ?? 0;
    const d = daemon;
    // a daemon that died right after it started fails with what it printed
    const self = (() => {
      try {
        return procStatus(pid);
      } catch (err) {
        throw new Error(`the daemon (pid ${pid}, exit ${String(d.child.exitCode ?? d.child.signalCode)}) is gone: ${String(err)}\n${d.output()}`, { cause: err });
      }
    })();
    expect(self.uid).toBe(NOBODY.uid);
    // CAP_NET_ADMIN (12) and CAP_NET_RAW (13), nothing else
    expect(self.capEff).toBe(0x3000n);
    expect(await hasZhugeRules(tb)).toBe(true);
    const watchdogs = childrenOf(pid).map((p) => ({ pid: p, ...procStatus(p) }));
    expect(watchdogs.length).toBeGreaterThanOrEqual(1);
    for (const w of watchdogs) expect(w.uid).toBe(NOBODY.uid);

    type S = { counters: { uplinkHeld: number } };
    const before = await daemon.status<S>();
    const r = await iperfReverse(tb, 5297, 4);
    const after = await daemon.status<S>();
    const held = after.counters.uplinkHeld - before.counters.uplinkHeld;
    const rss = procStatus(pid).rssKiB;
    console.log(
      `unprivileged daemon: uid ${self.uid}, CapEff 0x${self.capEff.toString(16)}; received ${(r.receivedBytes / 1e6).toFixed(1)} MB, ACKs held +${held}; ` +
        `RSS daemon ${(rss / 1024).toFixed(1)} MiB, watchdog ${watchdogs.map((w) => (w.rssKiB / 1024).toFixed(1)).join('/')} MiB`,
    );
    expect(r.receivedBytes).toBeGreaterThan(1e6);
    expect(held).toBeGreaterThan(50);

    const code = await daemon.stop();
    daemon = undefined;
    expect(code).toBe(0);
    expect(await hasZhugeRules(tb)).toBe(false);
  }, 90_000);
});
