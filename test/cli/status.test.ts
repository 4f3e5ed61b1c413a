import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { baseUrl, formatStatus, run } from '../../src/cli/status.js';
import { HttpServer, type StatusSnapshot } from '../../src/daemon/http-server.js';
import { createMetrics } from '../../src/daemon/metrics.js';

const SNAP: StatusSnapshot = {
  version: '0.1.0',
  uptimeS: 3725,
  backend: 'qdisc',
  heldPackets: 4,
  queues: [{ name: 'wlan0', backlogBytes: 45000, rateBps: 2_000_000, predictedDelayMs: 181.2 }],
  flows: [
    { flow: 'tcp 10.0.0.1:5201 > 10.0.1.2:40000', protocol: 'tcp', mode: 'ack-delay', predictedDelayMs: 181.2, heldPackets: 3, addedDelayMs: 2.5 },
    { flow: 'udp 10.0.0.1:5004 > 10.0.1.2:41000', protocol: 'rtp', mode: 'twcc', predictedDelayMs: 7.25, heldPackets: 1 },
  ],
};

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0)) await c();
});

async function daemon(status: () => StatusSnapshot = () => SNAP): Promise<number> {
  const s = new HttpServer({ listen: '127.0.0.1:0', metrics: createMetrics({ processMetrics: false }), status });
  const { port } = await s.start();
  cleanups.push(() => s.stop());
  return port;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('zhuge status', () => {
  it('prints a compact table from a running daemon', async () => {
    const port = await daemon();
    const io = capture();
    expect(await run(['--addr', `127.0.0.1:${port}`])).toBe(0);
    expect(io.out()).toBe(formatStatus(SNAP));
    expect(io.err()).toBe('');
  });

  it('formatStatus: header, queue table and flow table', () => {
    expect(formatStatus(SNAP).split('\n')).toEqual([
      'zhuge 0.1.0 · up 1h02m · backend qdisc · 2 flows · 4 held packets',
      '',
      'QUEUE  BACKLOG        RATE  PREDICTED',
      'wlan0  45.0 kB  2.0 Mbit/s     181 ms',
      '',
      'FLOW                                MODE       PREDICTED  HELD   ADDED',
      'tcp 10.0.0.1:5201 > 10.0.1.2:40000  ack-delay     181 ms     3  2.5 ms',
      'udp 10.0.0.1:5004 > 10.0.1.2:41000  twcc          7.3 ms     1       -',
    ]);
    const tcp = SNAP.flows[0]!;
    const windowFlows = [
      { ...tcp, heldPackets: 0, window: { shift: 7, baseRttMs: 41.25, clampedAcks: 1234 } },
      { ...tcp, flow: 'tcp 10.0.0.1:5201 > 10.0.1.3:40000', heldPackets: 0, window: { shift: -1, baseRttMs: -1, clampedAcks: 0 } },
      { ...tcp, flow: 'tcp 10.0.0.1:5201 > 10.0.1.4:40000', heldPackets: 0, window: { shift: 7, baseRttMs: -1, clampedAcks: 0 } },
    ];
    expect(formatStatus({ ...SNAP, flows: windowFlows, queues: [], heldPackets: 0 }).split('\n').slice(2)).toEqual([
      'FLOW                                MODE       PREDICTED  HELD   ADDED  WINDOW CLAMP',
      'tcp 10.0.0.1:5201 > 10.0.1.2:40000  ack-delay     181 ms     0  2.5 ms  rtt 41.3 ms, 1234 ACKs',
      'tcp 10.0.0.1:5201 > 10.0.1.3:40000  ack-delay     181 ms     0  2.5 ms  no handshake seen',
      'tcp 10.0.0.1:5201 > 10.0.1.4:40000  ack-delay     181 ms     0  2.5 ms  no RTT yet',
    ]);
    expect(formatStatus({ ...SNAP, flows: [], queues: [], heldPackets: 0 }).split('\n')).toEqual([
      'zhuge 0.1.0 · up 1h02m · backend qdisc · 0 flows · 0 held packets',
      '',
      'no tracked flows',
    ]);
  });

  it('a queue the backend cannot see (noqueue) is called out under the queue table', () => {
    const lines = formatStatus({ ...SNAP, queues: [{ name: 'phy0-ap0', visible: false, backlogBytes: 0, rateBps: 0, predictedDelayMs: 0 }], flows: [] }).split('\n');
    expect(lines).toContain('phy0-ap0: no queue to see (its qdisc is noqueue): predictions stay near 0; see "OpenWrt" in docs/operations.md');
    expect(formatStatus(SNAP)).not.toContain('no queue to see');
  });

  it('--json prints the JSON answer', async () => {
    const port = await daemon();
    const io = capture();
    expect(await run([`--addr=127.0.0.1:${port}`, '--json'])).toBe(0);
    expect(JSON.parse(io.out())).toEqual(SNAP);
  });

  it('reads metrics.listen from --config', async () => {
    const port = await daemon();
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-status-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const f = join(dir, 'z.yaml');
    writeFileSync(f, `interfaces: {eth: eth0, wlan: wlan0}\nmetrics: {listen: "0.0.0.0:${port}"}\n`);
    const io = capture();
    expect(await run(['--config', f, '--json'])).toBe(0);
    expect(JSON.parse(io.out())).toEqual(SNAP);
    writeFileSync(f, 'interfaces: {eth: eth0}\n');
    expect(await run(['--config', f])).toBe(3);
    expect(io.err()).toContain('interfaces.wlan');
  });

  it('no daemon: a clear message, exit 1', async () => {
    const port = await closedPort();
    const io = capture();
    expect(await run(['--addr', `127.0.0.1:${port}`])).toBe(1);
    expect(io.err()).toContain(`no zhuge daemon answers at http://127.0.0.1:${port}/status (connection refused)`);
    expect(io.out()).toBe('');
  });

  it('a daemon that never answers: timeout, exit 1', async () => {
    const sockets: import('node:net').Socket[] = [];
    const srv = createServer((sock) => void sockets.push(sock)); // accepts, never answers
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    });
    const port = (srv.address() as { port: number }).port;
    const io = capture();
    expect(await run(['--addr', `127.0.0.1:${port}`, '--timeout', '200'])).toBe(1);
    expect(io.err()).toContain('no answer within 200 ms');
  });

  it('something else answering: exit 1', async () => {
    const port = await daemon(() => ({ nope: true }) as unknown as StatusSnapshot);
    const io = capture();
    expect(await run(['--addr', `127.0.0.1:${port}`])).toBe(1);
    expect(io.err()).toContain('without a flows list');
  });

  it.each([[['--addr']], [['--addr', 'nonsense']], [['--timeout', '-1']], [['--what']]])('usage error %j: exit 2', async (argv) => {
    const io = capture();
    expect(await run(argv)).toBe(2);
    expect(io.err()).toContain('usage: zhuge status');
  });

  it('baseUrl', () => {
    expect(baseUrl('127.0.0.1:9469')).toBe('http://127.0.0.1:9469');
    expect(baseUrl('0.0.0.0:1')).toBe('http://127.0.0.1:1');
    expect(baseUrl('[::]:2')).toBe('http://[::1]:2');
    expect(baseUrl('[fd00::1]:3')).toBe('http://[fd00::1]:3');
  });
});
