/**
 * The live in-band path without a browser: the UDP payloads of a real Chromium call
 * (chromium-plaintext-4s.pcap: RTP with transport-wide sequence numbers one way, RTCP with the
 * receiver's TWCC the other) are replayed at their recorded times between a sender in srv and a
 * receiver in cli, through the AP running the real daemon. The server must receive transport-wide
 * feedback built by zhuge (reporting the sequence numbers it sent, from the client's address and
 * port), none of the client's own TWCC, and every other RTCP packet of the client untouched.
 * Routed (the AP forwards between two subnets, or bridges), and NAT: the AP masquerades the
 * client (a home router). Behind NAT the eth tap sees the downlink before de-NAT (the AP's public
 * address and the mapped port) while the wlan tap and NFQUEUE see the client's own tuple: the
 * engine matches the taps with address-free keys, learns the public -> private alias from the
 * first departures and then treats the transport under the client's tuple; the feedback it sends
 * from the client's private address:port is SNATed by conntrack like the client's own packets,
 * so the server sees every datagram from one address:port (the AP's public one).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtcpCompoundCursor, RTCP_PT_RTPFB, RTPFB_FMT_TWCC } from '../../src/protocols/rtcp/index.js';
import { parseTwcc } from '../../src/protocols/rtcp/index.js';
import { startDaemon, type DaemonProc } from '../../testbed/daemon-proc.js';
import { randomPrefix, up, type Testbed } from '../../testbed/topology.js';
import { daemonUnavailable, ensureBuilt, iperfReverse, isRoot } from './_helpers.js';
import { CLI_PORT, loadCall, NAT_CLI_PORT, NAT_SRV_PORT, PEER_SCRIPT, SRV_PORT } from './_call-replay.js';

// the routed AP, and the AP as OpenWrt builds it (Wi-Fi a port of br-lan), dual stack
const TOPOLOGIES = [
  { name: 'routed AP', opts: {}, metricsPort: 9481 },
  { name: 'bridged AP (Wi-Fi a port of a bridge), dual stack', opts: { bridgedAp: true, ipv6: true }, metricsPort: 9482 },
] as const;

describe.skipIf(!isRoot || daemonUnavailable() !== undefined).each(TOPOLOGIES)(
  `live in-band path, $name: zhuge rebuilds the transport-wide feedback of a replayed Chromium call (${isRoot ? 'root' : 'needs root and netns'})`,
  ({ opts, metricsPort }) => {
    let tb: Testbed | undefined;
    let daemon: DaemonProc | undefined;
    let dir = '';

    beforeAll(async () => {
      await ensureBuilt();
      tb = await up({ prefix: randomPrefix(), rateBps: 30e6, ...opts });
      daemon = await startDaemon(tb, { metricsPort, extraYaml: 'flows:\n  rtp:\n    enabled: true\n    signal: twcc' });
      dir = mkdtempSync(join(tmpdir(), 'zhuge-rtp-'));
    }, 120_000);

    afterAll(async () => {
      await daemon?.stop();
      await tb?.down();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    const inband = async (nat: boolean, ipv6 = false): Promise<void> => {
      if (tb === undefined || daemon === undefined) throw new Error('no testbed');
      const t = ipv6 ? tb.ipv6View() : tb;
      const call = loadCall();
      const script = join(dir, 'peer.cjs');
      writeFileSync(script, PEER_SCRIPT);
      writeFileSync(join(dir, 'server.json'), JSON.stringify(call.server));
      writeFileSync(join(dir, 'client.json'), JSON.stringify(call.client));
      const durMs = 5000;
      const srvPort = nat ? NAT_SRV_PORT : SRV_PORT;
      const cliPort = nat ? NAT_CLI_PORT : CLI_PORT;
      const natRule = ['-t', 'nat', '-A', 'POSTROUTING', '-o', tb.ifaces.apEth, '-s', `${tb.addrs.cli}/32`, '-p', 'udp', '-j', 'MASQUERADE'];
      if (nat) await tb.exec('ap', 'iptables', natRule);
      let s: { stdout: string };
      try {
        const srv = tb.exec('srv', process.execPath, [script, join(dir, 'server.json'), t.addrs.srv, String(srvPort), t.addrs.cli, String(cliPort), String(durMs + 1000), nat ? 'learn' : 'plain'], durMs + 10_000);
        const cli = tb.exec('cli', process.execPath, [script, join(dir, 'client.json'), t.addrs.cli, String(cliPort), t.addrs.srv, String(srvPort), String(durMs), nat ? 'hello' : 'plain'], durMs + 10_000);
        [s] = await Promise.all([srv, cli]);
      } finally {
        if (nat) await tb.exec('ap', 'iptables', natRule.map((a) => (a === '-A' ? '-D' : a)));
      }
      const got = JSON.parse(s.stdout) as Array<{ hex: string; from: string }>;
      const receivedByServer = got.map((g) => Buffer.from(g.hex, 'hex'));
      // every datagram (the client's RTCP and zhuge's feedback) came from one address:port: the
      // client's, or under NAT the AP's public address and the mapped port
      const sources = new Set(got.map((g) => g.from));
      expect([...sources]).toHaveLength(1);
      const from = [...sources][0]!;
      expect(from.slice(0, from.lastIndexOf(':'))).toBe(nat ? t.addrs.apEth : t.addrs.cli);
      const status = (await daemon.status()) as {
        rtp?: { counters: { feedbackBuilt: { twcc: number }; clientFeedbackDropped: { twcc: number } } };
        counters: { natAliasesLearnt: number; natTranslated: number; natUnresolved: number };
      };

      // what the client sent: its TWCC datagrams and its other RTCP
      const clientTwcc = new Set<string>();
      const clientOther = new Set<string>();
      const cursor = new RtcpCompoundCursor();
      const isTwccOnly = (b: Uint8Array): boolean => {
        if (b.length < 8 || b[0] === undefined || b[0] >> 6 !== 2 || (b[1] ?? 0) < 192 || (b[1] ?? 0) > 223) return false;
        let twcc = 0;
        let other = 0;
        try {
          cursor.reset(b, 0, b.length);
          while (cursor.next()) {
            if (cursor.view.packetType === RTCP_PT_RTPFB && cursor.view.count === RTPFB_FMT_TWCC) twcc++;
            else other++;
          }
        } catch {
          return false;
        }
        return twcc > 0 && other === 0;
      };
      for (const d of call.client) {
        const b = Buffer.from(d.hex, 'hex');
        if (isTwccOnly(b)) clientTwcc.add(d.hex);
        else if ((b[0] ?? 0) >> 6 === 2 && (b[1] ?? 0) >= 200 && (b[1] ?? 0) <= 207) clientOther.add(d.hex);
      }
      const serverGot = new Set(receivedByServer.map((b) => b.toString('hex')));
      const twccAtServer = receivedByServer.filter((b) => isTwccOnly(b));
      const clientTwccSeen = [...clientTwcc].filter((h) => serverGot.has(h)).length;
      const otherSeen = [...clientOther].filter((h) => serverGot.has(h)).length;
      let reported = 0;
      for (const b of twccAtServer) reported += parseTwcc(b, 0, b.length).deltas.filter((x) => x !== null).length;
      console.log(
        `client TWCC sent ${clientTwcc.size}, of them at the server ${clientTwccSeen}; TWCC at the server ${twccAtServer.length} ` +
          `reporting ${reported} packets received; client's other RTCP ${clientOther.size}, at the server ${otherSeen}; ` +
          `daemon: built ${status.rtp?.counters.feedbackBuilt.twcc}, client TWCC removed ${status.rtp?.counters.clientFeedbackDropped.twcc}`,
      );
      if (nat) {
        // the downlink was translated to the client's tuple after the first departures
        console.log(`nat: aliases learnt ${status.counters.natAliasesLearnt}, arrivals translated ${status.counters.natTranslated}, unresolved ${status.counters.natUnresolved}`);
        expect(status.counters.natAliasesLearnt).toBeGreaterThanOrEqual(1);
        expect(status.counters.natTranslated).toBeGreaterThan(500);
      }
      expect(twccAtServer.length).toBeGreaterThan(30); // ~50 ms interval over ~4 s
      expect(reported).toBeGreaterThan(500); // 691 RTP packets carry a transport-wide seq
      // the client's TWCC is replaced while zhuge reports (the first ones pass until the extension id is learnt)
      expect(clientTwccSeen).toBeLessThan(clientTwcc.size * 0.2);
      expect(otherSeen).toBe(clientOther.size);
    };

    it('routed: server gets zhuge-built TWCC for the sequence numbers it sent, no client TWCC, other RTCP intact', () => inband(false), 60_000);
    it.runIf('ipv6' in opts)('routed over IPv6: the same (ip6tables rules, feedback sent from the client\'s IPv6 address)', () => inband(false, true), 60_000);
    it('NAT: the same with the client masqueraded by the AP (aliases learnt, feedback SNATed like the client\'s)', () => inband(true), 60_000);

    it('NAT: a TCP download (iperf3 -R) by the masqueraded client is treated: its flow is keyed by the private tuple, ACKs are held', async () => {
      if (tb === undefined || daemon === undefined) throw new Error('no testbed');
      type S = { counters: { uplinkHeld: number; natAliasesLearnt: number; natTranslated: number }; flows: Array<{ flow: string; heldTotal: number }> };
      const port = 5299;
      const natRule = ['-t', 'nat', '-A', 'POSTROUTING', '-o', tb.ifaces.apEth, '-s', `${tb.addrs.cli}/32`, '-p', 'tcp', '-j', 'MASQUERADE'];
      await tb.exec('ap', 'iptables', natRule);
      const before = (await daemon.status()) as S;
      let r: { receivedBytes: number };
      let during: S;
      try {
        const dl = iperfReverse(tb, port, 4);
        await new Promise((res) => setTimeout(res, 3500));
        during = (await daemon.status()) as S;
        r = await dl;
      } finally {
        await tb.exec('ap', 'iptables', natRule.map((a) => (a === '-A' ? '-D' : a)));
      }
      const held = during.counters.uplinkHeld - before.counters.uplinkHeld;
      const flow = during.flows.find((f) => f.flow.startsWith(`tcp ${tb?.addrs.srv}:${port}>${tb?.addrs.cli}:`) && f.heldTotal > 0);
      console.log(
        `nat tcp: received ${(r.receivedBytes / 1e6).toFixed(1)} MB; aliases learnt +${during.counters.natAliasesLearnt - before.counters.natAliasesLearnt}, ` +
          `arrivals translated +${during.counters.natTranslated - before.counters.natTranslated}, ACKs held +${held}; flow ${flow?.flow} held ${flow?.heldTotal}`,
      );
      expect(r.receivedBytes).toBeGreaterThan(1e6);
      expect(during.counters.natAliasesLearnt - before.counters.natAliasesLearnt).toBeGreaterThanOrEqual(1);
      expect(during.counters.natTranslated - before.counters.natTranslated).toBeGreaterThan(1000);
      expect(flow).toBeDefined();
      expect(held).toBeGreaterThan(50);
    }, 60_000);
  },
);
