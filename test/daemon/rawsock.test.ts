import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapLiftFile } from '../../src/daemon/cap-lift-file.js';
import { ipDestination, RawSender, rawsockAvailable } from '../../src/daemon/rawsock.js';
import { sendLifts } from '../../src/daemon/send-lifts.js';
import { fixIpPacketChecksums } from '../../src/protocols/checksum.js';

const isRoot = process.getuid?.() === 0;
const avail = rawsockAvailable();

function ipv4(s: string): number[] {
  return s.split('.').map(Number);
}

function udp4(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, 0x4242);
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 17;
  p.set(ipv4(src), 12);
  p.set(ipv4(dst), 16);
  dv.setUint16(20, sport);
  dv.setUint16(22, dport);
  dv.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  fixIpPacketChecksums(p, 0);
  return p;
}

function udp6(src: number[], sport: number, dst: number[], dport: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(48 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, 8 + payload.length);
  p[6] = 17;
  p[7] = 64;
  src.forEach((w, i) => dv.setUint32(8 + 4 * i, w >>> 0));
  dst.forEach((w, i) => dv.setUint32(24 + 4 * i, w >>> 0));
  dv.setUint16(40, sport);
  dv.setUint16(42, dport);
  dv.setUint16(44, 8 + payload.length);
  p.set(payload, 48);
  fixIpPacketChecksums(p, 0);
  return p;
}

describe('ipDestination', () => {
  it.each([
    ['ipv4', udp4('10.0.0.1', 1, '192.168.7.9', 2, new Uint8Array(0)), { family: 4, addr: '192.168.7.9' }],
    ['ipv6', udp6([0xfd000000, 0, 0, 1], 1, [0xfd000000, 0, 0, 0x77], 2, new Uint8Array(0)), { family: 6, addr: 'fd00::77' }],
    ['short ipv4', new Uint8Array([0x45, 0, 0]), undefined],
    ['not ip', new Uint8Array(40).fill(0x20), undefined],
    ['empty', new Uint8Array(0), undefined],
  ])('%s', (_n, pkt, want) => {
    expect(ipDestination(pkt)).toEqual(want);
  });
});

function sh(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Starts a UDP receiver in netns `ns`; resolves with the child once it listens. */
function receiver(ns: string, family: 'udp4' | 'udp6', addr: string, port: number): Promise<{ child: ChildProcess; got: Promise<{ msg: string; address: string; port: number }> }> {
  const code = `
    const s = require('node:dgram').createSocket('${family}');
    s.on('message', (m, r) => { process.stdout.write(JSON.stringify({ msg: m.toString(), address: r.address, port: r.port }) + '\\n'); process.exit(0); });
    s.bind(${port}, '${addr}', () => process.stdout.write('ready\\n'));
    setTimeout(() => process.exit(2), 5000);`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let resolveGot: (x: { msg: string; address: string; port: number }) => void = () => undefined;
    const got = new Promise<{ msg: string; address: string; port: number }>((r) => (resolveGot = r));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') resolve({ child, got });
        else resolveGot(JSON.parse(line) as { msg: string; address: string; port: number });
      }
    });
    child.on('exit', (c) => reject(new Error(`receiver exited ${String(c)}`)));
  });
}

describe.skipIf(!isRoot || !avail.ok)(
  `RawSender in a throwaway netns pair (needs root, netns and the built addon${avail.ok ? '' : `: ${avail.reason}`})`,
  () => {
    const tag = `zrs${process.pid % 100000}`;
    const nsA = `${tag}a`;
    const nsB = `${tag}b`;
    const net = 200 + (process.pid % 50);
    const net6 = `fd00:${net.toString(16)}`; // fd00:<net>::/64, the second group = net

    beforeAll(() => {
      sh('netns', 'add', nsA);
      sh('netns', 'add', nsB);
      sh('link', 'add', `${tag}x`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${tag}y`, 'netns', nsB);
      for (const [ns, dev, a4, a6] of [
        [nsA, `${tag}x`, `10.${net}.0.1/24`, `${net6}::1/64`],
        [nsB, `${tag}y`, `10.${net}.0.2/24`, `${net6}::2/64`],
      ] as const) {
        sh('-n', ns, 'link', 'set', 'lo', 'up');
        sh('-n', ns, 'addr', 'add', a4, 'dev', dev);
        sh('-n', ns, 'addr', 'add', a6, 'dev', dev, 'nodad');
        sh('-n', ns, 'link', 'set', dev, 'up');
      }
    });

    afterAll(() => {
      for (const ns of [nsA, nsB]) {
        try {
          sh('netns', 'del', ns);
        } catch {
          // already gone
        }
      }
    });

    it("the watchdog's REMB lifts: the datagrams the daemon kept in its lift file are sent (and an absent file is no error)", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'zhuge-lifts-'));
      const r = await receiver(nsB, 'udp4', `10.${net}.0.2`, 47003);
      try {
        const file = new CapLiftFile(join(dir, 'lifts'));
        file.update([udp4(`10.${net}.0.78`, 40078, `10.${net}.0.2`, 47003, new TextEncoder().encode('zhuge-lift'))]);
        expect(sendLifts(file.path, nsA)).toBe(0);
        expect(await r.got).toEqual({ msg: 'zhuge-lift', address: `10.${net}.0.78`, port: 40078 });
        file.clear();
        expect(sendLifts(file.path, nsA)).toBe(0);
      } finally {
        r.child.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('IPv4: a UDP datagram with a spoofed source of the sender subnet reaches a dgram socket', async () => {
      const r = await receiver(nsB, 'udp4', `10.${net}.0.2`, 47001);
      const s = RawSender.open({ netns: nsA });
      try {
        expect(s.hasIpv4).toBe(true);
        const pkt = udp4(`10.${net}.0.77`, 40077, `10.${net}.0.2`, 47001, new TextEncoder().encode('zhuge-raw-v4'));
        expect(s.send(pkt)).toBe(pkt.length);
        const got = await r.got;
        expect(got).toEqual({ msg: 'zhuge-raw-v4', address: `10.${net}.0.77`, port: 40077 });
        expect(s.stats.sent).toBe(1);
      } finally {
        s.close();
        r.child.kill();
      }
    });

    it('IPv6: the same through the IPv6 raw socket', async () => {
      const r = await receiver(nsB, 'udp6', `${net6}::2`, 47002);
      const s = RawSender.open({ netns: nsA });
      try {
        expect(s.hasIpv6).toBe(true);
        const hi = (0xfd000000 | net) >>> 0;
        const pkt = udp6([hi, 0, 0, 0x77], 40078, [hi, 0, 0, 2], 47002, new TextEncoder().encode('zhuge-raw-v6'));
        expect(s.send(pkt)).toBe(pkt.length);
        const got = await r.got;
        expect(got).toEqual({ msg: 'zhuge-raw-v6', address: `${net6}::77`, port: 40078 });
      } finally {
        s.close();
        r.child.kill();
      }
    });

    it('errors are exceptions with errno text, counted', () => {
      const s = RawSender.open({ netns: nsA });
      try {
        const big = udp4(`10.${net}.0.1`, 1, `10.${net}.0.2`, 2, new Uint8Array(3000));
        expect(() => s.send(big)).toThrow(/sendto: Message too long \(errno 90\)/);
        expect(() => s.send(udp4(`10.${net}.0.1`, 1, '203.0.113.9', 2, new Uint8Array(4)))).toThrow(/Network is unreachable/);
        expect(() => s.send(new Uint8Array([1, 2, 3]))).toThrow(/not an IPv4\/IPv6 packet/);
        expect(s.stats.errors).toBe(3);
        s.close();
        expect(() => s.send(big)).toThrow(/no IPv4 socket open/);
        s.close(); // idempotent
      } finally {
        s.close();
      }
      expect(() => RawSender.open({ netns: 'no-such-ns-zhuge' })).toThrow(/No such file/);
    });
  },
);
