/**
 * The REMB cap live (flows.rtp.signal remb, the default): a real Chromium call's payloads
 * (~1.5 Mbit/s from its second second on) replayed through a 1 Mbit/s Wi-Fi link, so the AP
 * queue stands for as long as the replay runs (a replay does not slow down). The server must get
 * REMB caps below the link's rate from the client's address and every TWCC of the client's own;
 * and the last REMB must be the lift ("no limit") whether the daemon stops in order or is killed
 * with a cap in force (then its watchdog sends it: a sender keeps the last REMB for its whole call).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { capLiftPath } from '../../src/daemon/cap-lift-file.js';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { daemonUnavailable, isRoot } from './_helpers.js';
import { CLI_PORT, loadCall, rtcpOf, SRV_PORT, useReplayLab } from './_call-replay.js';

const LINK_BPS = 1e6;
const DUR_MS = 5000;

describe.skipIf(!isRoot || daemonUnavailable() !== undefined)(
  `REMB rate caps on a replayed Chromium call through a link slower than the call (${isRoot ? 'root' : 'needs root and netns'})`,
  () => {
    // the lifts file a killed daemon left (the next daemon of the same chain would reset it)
    const lab = useReplayLab(LINK_BPS, 300, (l) => {
      if (l.tb !== undefined) rmSync(capLiftPath(`ZHUGE_${l.tb.prefix}`), { force: true });
    });

    /** Replays the call with the daemon running; `end` stops it (in order or kill -9) 1 s before the replay ends. */
    const replay = async (port: number, end: (d: DaemonProc) => Promise<void>): Promise<{ rembs: number[]; serverTwcc: number; clientTwcc: number }> => {
      if (lab.tb === undefined) throw new Error('no testbed');
      const d = await startDaemon(lab.tb, { metricsPort: port });
      lab.daemon = d;
      const script = join(lab.dir, 'peer.cjs');
      const srv = lab.tb.exec('srv', process.execPath, [script, join(lab.dir, 'server.json'), lab.tb.addrs.srv, String(SRV_PORT), lab.tb.addrs.cli, String(CLI_PORT), String(DUR_MS + 1500), 'plain'], DUR_MS + 10_000);
      const cli = lab.tb.exec('cli', process.execPath, [script, join(lab.dir, 'client.json'), lab.tb.addrs.cli, String(CLI_PORT), lab.tb.addrs.srv, String(SRV_PORT), String(DUR_MS), 'plain'], DUR_MS + 10_000);
      await new Promise((r) => setTimeout(r, DUR_MS - 1000));
      try {
        await end(d);
      } finally {
        await d.stop().catch(() => undefined); // whatever end() did: the next test starts its own
        lab.daemon = undefined;
      }
      const [s] = await Promise.all([srv, cli]);
      const got = JSON.parse(s.stdout) as Array<{ hex: string; from: string }>;
      const rembs: number[] = [];
      let serverTwcc = 0;
      for (const g of got) {
        expect(g.from.slice(0, g.from.lastIndexOf(':'))).toBe(lab.tb.addrs.cli);
        const r = rtcpOf(Buffer.from(g.hex, 'hex'));
        rembs.push(...r.rembs);
        if (r.twcc) serverTwcc++;
      }
      const clientTwcc = loadCall().client.filter((c) => rtcpOf(Buffer.from(c.hex, 'hex')).twcc).length;
      console.log(`REMBs in order (Mbit/s, L: the lift): ${rembs.map((b) => (b > 1e9 ? "L" : (b / 1e6).toFixed(2))).join(" ")}`);
      const caps = rembs.filter((b) => b < 1e9).sort((a, b) => a - b);
      console.log(
        `REMBs at the server ${rembs.length}: caps min/median/max ${[caps[0], caps[caps.length >> 1], caps.at(-1)].map((b) => ((b ?? 0) / 1e6).toFixed(3)).join('/')} Mbit/s, ` +
          `last ${((rembs.at(-1) ?? 0) / 1e9).toFixed(1)} Gbit/s; client TWCC ${clientTwcc}, at the server ${serverTwcc}`,
      );
      return { rembs, serverTwcc, clientTwcc };
    };

    /** `lostAtKill`: TWCC datagrams the kernel may drop with a killed daemon's NFQUEUE socket */
    const expectCappedThenLifted = (r: { rembs: number[]; serverTwcc: number; clientTwcc: number }, lostAtKill = 0): void => {
      // caps while the queue stood: about half the link's rate (the queue stands 300 ms deep: the
      // drain floor), never below it; a rate measured over a burst of the shaper or a cap growing
      // between two standing readings may reach a little above the link's. On a starved machine
      // htb's timer fires late and releases a burst: one CI run had one cap of ~80 at 1.32x the
      // link's rate. A few such caps are noise of the shaper; many, or one far above, a defect:
      // this test found one (the drained rate counted the full queue's drops as served, and 8 of
      // 64 caps were 1.35-1.58 Mbit/s; departures only since, max 0.96).
      const caps = r.rembs.filter((b) => b < 1e9).sort((x, y) => x - y);
      expect(caps.length).toBeGreaterThan(10);
      expect(caps[caps.length >> 1] ?? 0).toBeLessThan(0.7 * LINK_BPS);
      expect(caps[0] ?? 0).toBeGreaterThanOrEqual(0.4 * LINK_BPS);
      expect(caps.filter((b) => b > 1.3 * LINK_BPS).length, `caps above 1.3x the link: ${caps.filter((b) => b > 1.3 * LINK_BPS).join(', ')}`).toBeLessThanOrEqual(caps.length / 20);
      expect(caps.at(-1) ?? 0).toBeLessThan(2 * LINK_BPS);
      // then the lift, last
      expect(r.rembs.at(-1) ?? 0).toBeGreaterThan(1e9);
      // the client's own feedback passed, every datagram of it
      expect(r.clientTwcc).toBeGreaterThan(30);
      expect(r.serverTwcc).toBeLessThanOrEqual(r.clientTwcc);
      expect(r.serverTwcc).toBeGreaterThanOrEqual(r.clientTwcc - lostAtKill);
    };

    it('caps the sender while the queue stands, leaves the client TWCC alone, lifts the cap when it stops', async () => {
      const r = await replay(9483, async (d) => {
        const st = (await d.status()) as { rtp?: { list?: Array<{ capBps: number | null; capsEngaged: number; rembSent: number }> } };
        const t = st.rtp?.list?.find((x) => x.capsEngaged > 0);
        expect(t?.rembSent ?? 0, 'a transport with a cap set').toBeGreaterThan(10);
        await d.stop();
      });
      expectCappedThenLifted(r);
    }, 60_000);

    it('kill -9 with a cap in force: the watchdog sends the lift', async () => {
      const r = await replay(9484, async (d) => {
        process.kill(d.child.pid as number, 'SIGKILL');
        await new Promise((res) => setTimeout(res, 600));
      });
      // the uplink packets the dead daemon held in the kernel's queue are lost with its socket (issue 15)
      expectCappedThenLifted(r, 3);
    }, 60_000);
  },
);
