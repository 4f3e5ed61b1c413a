/**
 * The mac80211 backend's I/O: the station TXQ files found from the interface (sysfs -> phy ->
 * debugfs), clear errors when they cannot be, and each poll's reading handed to the engine.
 * Runs on a fake sysfs/debugfs tree (the real one is read in the Wi-Fi testbed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { readAqmOnce, TxqPoller, txqStationsDir, Mac80211BackendError } from '../../src/daemon/txq-poller.js';
import { Engine } from '../../src/engine/engine.js';
import { parseMac } from '../../src/engine/station-directory.js';
import { engineOptions } from '../helpers/engine.js';

const HEADER = 'tid ac backlog-bytes backlog-packets new-flows drops marks overlimit collisions tx-bytes tx-packets flags';
const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(o: { iface?: boolean; phy?: boolean; debugfs?: boolean; stations?: boolean } = {}): { sysfs: string; debugfs: string; stations: string } {
  const root = mkdtempSync(join(tmpdir(), 'zhuge-txq-'));
  dirs.push(root);
  const sysfs = join(root, 'sys');
  const debugfs = join(root, 'debug');
  if (o.iface !== false) mkdirSync(join(sysfs, 'class/net/wlan0'), { recursive: true });
  if (o.iface !== false && o.phy !== false) {
    mkdirSync(join(sysfs, 'class/net/wlan0/phy80211'), { recursive: true });
    writeFileSync(join(sysfs, 'class/net/wlan0/phy80211/name'), 'phy0\n');
  }
  if (o.debugfs !== false) mkdirSync(join(debugfs, 'ieee80211/phy0'), { recursive: true });
  const stations = join(debugfs, 'ieee80211/phy0/netdev:wlan0/stations');
  if (o.debugfs !== false && o.stations !== false) mkdirSync(stations, { recursive: true });
  return { sysfs, debugfs, stations };
}

function writeStation(stations: string, mac: string, backlogBytes: number, backlogPackets: number, txBytes: number, txPackets: number, drops = 0): void {
  mkdirSync(join(stations, mac), { recursive: true });
  writeFileSync(join(stations, mac, 'aqm'), `${HEADER}\n0 2 ${backlogBytes} ${backlogPackets} 0 ${drops} 0 0 0 ${txBytes} ${txPackets} 0x0(RUN)\n1 3 0 0 0 0 0 0 0 0 0 0x0(RUN)\n`);
}

describe('readAqmOnce: one read() from offset 0 into a reused buffer', () => {
  it('gives the whole file, and again the whole file on the next call (the buffer reused)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-aqm-'));
    try {
      const f = join(dir, 'aqm');
      const buf = Buffer.alloc(64);
      writeFileSync(f, 'tid ac\n0 2\n1 3\n');
      expect(readAqmOnce(f, buf)).toBe('tid ac\n0 2\n1 3\n');
      writeFileSync(f, 'tid ac\n');
      expect(readAqmOnce(f, buf)).toBe('tid ac\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file that fills the buffer is refused, not cut', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zhuge-aqm-'));
    try {
      const f = join(dir, 'aqm');
      writeFileSync(f, 'x'.repeat(64));
      expect(() => readAqmOnce(f, Buffer.alloc(64))).toThrow(/more than 64 bytes/);
      expect(() => readAqmOnce(join(dir, 'gone'), Buffer.alloc(64))).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('txqStationsDir: where the station TXQs are, or why not', () => {
  it.each([
    ['no such interface', { iface: false }, /interface wlan0 does not exist/],
    ['not a mac80211 interface (e.g. a veth)', { phy: false }, /not a mac80211 Wi-Fi interface .*queue\.backend: qdisc/],
    ['debugfs not mounted', { debugfs: false }, /debugfs is not mounted \(mount -t debugfs/],
    ['no stations directory (interface down, or not an AP)', { stations: false }, /is wlan0 up, and is it an AP interface of phy0/],
  ])('%s', (_name, o, msg) => {
    const t = tree(o);
    expect(() => txqStationsDir('wlan0', t)).toThrow(Mac80211BackendError);
    expect(() => txqStationsDir('wlan0', t)).toThrow(msg);
  });

  it('finds them through the interface phy', () => {
    const t = tree();
    expect(txqStationsDir('wlan0', t)).toBe(t.stations);
  });
});

describe('TxqPoller', () => {
  it('hands each station reading to the engine: departures since the last poll, backlog now; stations come and go', () => {
    const t = tree();
    const mac = '02:00:00:00:00:0a';
    writeStation(t.stations, mac, 0, 0, 5000, 5);
    const e = new Engine(engineOptions({ perStationQueues: true }));
    const p = TxqPoller.open('wlan0', e, log, t);
    expect(p.stats.stations).toBe(1);
    const st = e.stations?.directory.knownStation(parseMac(mac) ?? 0) ?? 0;
    expect(st).toBeGreaterThan(0);
    p.poll(); // no change since it was listed
    writeStation(t.stations, mac, 6000, 4, 5000 + 3 * 1200, 8, 1);
    p.poll();
    const ft = e.stations?.ftOf(st);
    // the model held nothing: the three departures are untracked, the backlog is taken from the kernel
    expect(e.stations?.untrackedDepartures).toBe(3);
    expect(ft?.queue.bytesInQueue).toBe(6000);
    expect(p.stats.readings).toBe(2);
    // the TXQ's drop (CoDel: the head of the fattest flow) is counted, not pinned on recent arrivals
    expect(p.stats.txqDrops).toBe(1);
    // the station leaves
    rmSync(join(t.stations, mac), { recursive: true });
    p.poll();
    expect(p.stats.readErrors).toBe(1);
    p.refreshStations();
    expect(p.stats.stations).toBe(0);
    expect(ft?.queue.bytesInQueue).toBe(0);
  });

  it('a file that does not parse is counted and skipped, the others still read', () => {
    const t = tree();
    writeStation(t.stations, '02:00:00:00:00:0a', 0, 0, 0, 0);
    writeStation(t.stations, '02:00:00:00:00:0b', 0, 0, 0, 0);
    const e = new Engine(engineOptions({ perStationQueues: true }));
    const p = TxqPoller.open('wlan0', e, log, t);
    writeFileSync(join(t.stations, '02:00:00:00:00:0b', 'aqm'), 'garbage\n');
    p.poll();
    expect(p.stats.parseErrors).toBe(1);
    expect(p.stats.readings).toBe(1);
  });

  it('refuses an engine without per-station queues', () => {
    const t = tree();
    expect(() => TxqPoller.open('wlan0', new Engine(engineOptions()), log, t)).toThrow(/per-station queues/);
  });
});
