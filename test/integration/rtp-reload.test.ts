/**
 * The in-band RTP path turned off and on again by reloads (SIGHUP) in the middle of a call
 * (issue 15: a reload that toggles RTP must not cut the sender off from congestion feedback, and
 * must not leave it capped). A real Chromium call's payloads are replayed through a 1 Mbit/s
 * link (the queue stands: caps are set) while the daemon's configuration goes on -> off -> on:
 *
 *  - signal twcc (zhuge's own TWCC replaces the client's): transport-wide feedback reaches the
 *    server in every phase: zhuge's while RTP is on, the client's while it is off;
 *  - signal remb: the caps stop with a lift ("no limit") when RTP is turned off, none comes while
 *    it is off, and they come back when it is on again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonConfigYaml, startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { daemonUnavailable, isRoot, pollUntil } from './_helpers.js';
import { CLI_PORT, rtcpOf, SRV_PORT, useReplayLab, type Received } from './_call-replay.js';

const LINK_BPS = 1e6;
const DUR_MS = 5000;
/** the replayed call's last packet (the capture is 4 s long) */
const CALL_END_MS = 4000;
/** when RTP is turned off, and on again (ms after the replay starts) */
const OFF_AT_MS = 1500;
const ON_AT_MS = 2600;
const PORT = 9486;

describe.skipIf(!isRoot || daemonUnavailable() !== undefined)(
  `RTP turned off and on by reloads during a replayed Chromium call (${isRoot ? 'root' : 'needs root and netns'})`,
  () => {
    const lab = useReplayLab(LINK_BPS, 300);

    /** Rewrites the daemon's configuration and reloads it; resolves once the daemon answered. */
    const reload = async (d: DaemonProc, rtpYaml: string): Promise<void> => {
      if (lab.tb === undefined) throw new Error('no testbed');
      writeFileSync(d.configPath, daemonConfigYaml(lab.tb, { metricsPort: PORT, extraYaml: rtpYaml }));
      const before = d.logLines.length;
      d.child.kill('SIGHUP');
      const ms = await pollUntil(async () => d.logLines.slice(before).some((l) => l.includes('configuration reloaded') || l.includes('reload refused')), 3000, 20);
      const said = d.logLines.slice(before).join('\n');
      expect(ms, said).toBeDefined();
      expect(said).toContain('configuration reloaded');
    };

    /** Replays the call; RTP off at OFF_AT_MS, on again at ON_AT_MS; what the server received, and when each reload was answered (Date.now()). */
    const replay = async (signal: string): Promise<{ got: Received[]; startMs: number; offMs: number; onMs: number }> => {
      if (lab.tb === undefined) throw new Error('no testbed');
      const on = `flows:\n  rtp:\n    enabled: true\n    signal: ${signal}\n`;
      const d = await startDaemon(lab.tb, { metricsPort: PORT, extraYaml: on });
      lab.daemon = d;
      try {
        const script = join(lab.dir, 'peer.cjs');
        const t0 = Date.now();
        const srv = lab.tb.exec('srv', process.execPath, [script, join(lab.dir, 'server.json'), lab.tb.addrs.srv, String(SRV_PORT), lab.tb.addrs.cli, String(CLI_PORT), String(DUR_MS + 1500), 'plain'], DUR_MS + 10_000);
        const cli = lab.tb.exec('cli', process.execPath, [script, join(lab.dir, 'client.json'), lab.tb.addrs.cli, String(CLI_PORT), lab.tb.addrs.srv, String(SRV_PORT), String(DUR_MS), 'plain'], DUR_MS + 10_000);
        await new Promise((r) => setTimeout(r, OFF_AT_MS - (Date.now() - t0)));
        await reload(d, `flows:\n  rtp:\n    enabled: false\n    signal: ${signal}\n`);
        const offMs = Date.now();
        await new Promise((r) => setTimeout(r, ON_AT_MS - (Date.now() - t0)));
        await reload(d, on);
        const onMs = Date.now();
        const [s] = await Promise.all([srv, cli]);
        return { got: JSON.parse(s.stdout) as Received[], startMs: t0, offMs, onMs };
      } finally {
        await d.stop().catch(() => undefined);
        lab.daemon = undefined;
      }
    };

    /** TWCC datagrams and REMBs the server received within [fromMs, toMs) (Date.now()). */
    const within = (got: Received[], fromMs: number, toMs: number): { twcc: number; rembs: number[] } => {
      const out = { twcc: 0, rembs: [] as number[] };
      for (const g of got) {
        if (g.atMs < fromMs || g.atMs >= toMs) continue;
        const r = rtcpOf(Buffer.from(g.hex, 'hex'));
        if (r.twcc) out.twcc++;
        out.rembs.push(...r.rembs);
      }
      return out;
    };

    it('signal twcc: transport-wide feedback reaches the server in every phase (zhuge\'s, the client\'s, zhuge\'s again)', async () => {
      const { got, startMs, offMs, onMs } = await replay('twcc');
      // each phase without its first 300 ms (the reload's own moment)
      const phases = [within(got, startMs + 500, offMs), within(got, offMs + 300, onMs), within(got, onMs + 300, startMs + CALL_END_MS)];
      console.log(`signal twcc, RTP on -> off -> on: TWCC datagrams at the server per phase ${phases.map((p) => p.twcc).join(' / ')}`);
      // the client reports about every 50-100 ms, zhuge every 50 ms: at least a few per phase
      for (const p of phases) expect(p.twcc).toBeGreaterThanOrEqual(5);
    }, 60_000);

    it('signal remb: a cap in force is lifted when RTP is turned off, none while off, caps again once on', async () => {
      const { got, startMs, offMs, onMs } = await replay('remb');
      const before = within(got, startMs, offMs - 100);
      // the lift leaves once the reload is applied, just before the daemon says so
      const off = within(got, offMs - 100, onMs);
      const again = within(got, onMs + 300, startMs + CALL_END_MS);
      const caps = (xs: number[]): number[] => xs.filter((b) => b < 1e9);
      console.log(`signal remb, RTP on -> off -> on: caps before ${caps(before.rembs).length}, REMBs while off ${off.rembs.map((b) => (b > 1e9 ? 'lift' : 'cap')).join(',')}, caps after ${caps(again.rembs).length}`);
      expect(caps(before.rembs).length).toBeGreaterThan(5);
      // turned off: the lift, and no cap after it while off
      const lastOff = off.rembs.at(-1);
      expect(lastOff ?? 0).toBeGreaterThan(1e9);
      const firstLift = off.rembs.findIndex((b) => b > 1e9);
      expect(caps(off.rembs.slice(firstLift))).toEqual([]);
      expect(caps(again.rembs).length).toBeGreaterThan(5);
    }, 60_000);
  },
);
