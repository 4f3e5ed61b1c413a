/**
 * queue.backend 'mac80211': the per-station transmit queues of a mac80211 Wi-Fi interface, read
 * from debugfs, for the engine's per-station Fortune Tellers. I/O around the engine.
 *
 *   /sys/class/net/<wlan>/phy80211/name                                  -> phy (e.g. phy0)
 *   /sys/kernel/debug/ieee80211/<phy>/netdev:<wlan>/stations/<mac>/aqm   -> TxqStats (txq-stats.ts)
 *
 * Every `txqPollMs` each listed station's `aqm` file is read: what left its TXQs since the last
 * reading (the u32 tx counters' difference) and what waits now go to engine.onTxqReading. The
 * TXQs' own drops (CoDel, and over the fq limit) are counted, not attributed to packets: both
 * take the head of the fattest flow, so the qdisc backend's guess for a tail-dropping FIFO (the
 * most recent arrivals, engine.onKernelDrops) would report the wrong packets lost; the backlog
 * resync removes the dropped ones from the model, oldest first. The station list is
 * read again every second (stations associate and leave). A station whose file cannot be read
 * (it just left) is skipped and counted.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import { parseMac } from '../engine/station-directory.js';
import { monoNowUs } from './clock.js';
import { once } from './logger.js';
import { emptyTxqStats, parseTxqStats, txqDeparted, TxqStatsError, type TxqStats } from './txq-stats.js';

/** The backend cannot run here: the message says why and what to do. */
export class Mac80211BackendError extends Error {
  override readonly name = 'Mac80211BackendError';
}

export interface TxqRoots {
  sysfs: string;
  debugfs: string;
}

const DEFAULT_ROOTS: TxqRoots = { sysfs: '/sys', debugfs: '/sys/kernel/debug' };

/** The directory that lists the stations of `wlan`'s TXQs; throws Mac80211BackendError with the remedy. */
export function txqStationsDir(wlan: string, roots: TxqRoots = DEFAULT_ROOTS): string {
  const phyFile = join(roots.sysfs, 'class/net', wlan, 'phy80211/name');
  if (!existsSync(join(roots.sysfs, 'class/net', wlan))) throw new Mac80211BackendError(`interface ${wlan} does not exist`);
  if (!existsSync(phyFile)) throw new Mac80211BackendError(`interface ${wlan} is not a mac80211 Wi-Fi interface (no ${phyFile}); use queue.backend: qdisc`);
  const phy = readFileSync(phyFile, 'utf8').trim();
  const ieee = join(roots.debugfs, 'ieee80211');
  try {
    readdirSync(roots.debugfs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') {
      throw new Mac80211BackendError(
        `${roots.debugfs} is not readable by this user: debugfs is root-only (mode 0700) unless mounted with uid=/gid=/mode=; run zhuge as root, or give it CAP_DAC_READ_SEARCH besides CAP_NET_ADMIN and CAP_NET_RAW`,
      );
    }
  }
  if (!existsSync(ieee)) {
    throw new Mac80211BackendError(
      `${ieee} does not exist: debugfs is not mounted (mount -t debugfs debugfs ${roots.debugfs}; OpenWrt mounts it by default) or the kernel has no CONFIG_MAC80211_DEBUGFS`,
    );
  }
  const dir = join(ieee, phy, `netdev:${wlan}`, 'stations');
  if (!existsSync(dir)) throw new Mac80211BackendError(`${dir} does not exist: is ${wlan} up, and is it an AP interface of ${phy}?`);
  return dir;
}

interface StationState {
  mac: number;
  file: string;
  prev: TxqStats;
  cur: TxqStats;
}

export interface TxqPollerStats {
  polls: number;
  readings: number;
  /** packets the stations' TXQs dropped (CoDel + over the limit) since the daemon followed them */
  txqDrops: number;
  readErrors: number;
  parseErrors: number;
  stations: number;
}

/** More than mac80211's aqm buffer (130 bytes x 18 lines, net/mac80211/debugfs_sta.c). */
export const AQM_READ_BYTES = 8192;

/**
 * One read() of a station's aqm file, from offset 0. Not readFileSync: it reads again until a read
 * returns nothing, and mac80211 builds the table anew for every read(), so when the counters
 * gained digits in between, that second read returns the new table's tail past the first one's
 * length, appended as a torn extra line ("0x0(RUN)": seen with two stations in the UML testbed,
 * counted as parse errors and the reading lost). A file that fills the buffer is refused.
 */
export function readAqmOnce(path: string, buf: Buffer): string {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n >= buf.length) throw new Error(`${path}: more than ${buf.length} bytes`);
    return buf.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}

export class TxqPoller {
  readonly stats: TxqPollerStats = { polls: 0, readings: 0, txqDrops: 0, readErrors: 0, parseErrors: 0, stations: 0 };
  private readonly stations = new Map<string, StationState>();
  /** one buffer for every station's aqm file (~1.2 KiB each; the kernel's own buffer is 2340 bytes) */
  private readonly buf = Buffer.allocUnsafe(AQM_READ_BYTES);
  /** when the stations directory was last listed (monotonic µs; /healthz's queue_unread) */
  lastReadOkUs: number | undefined;

  constructor(
    private readonly dir: string,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  static open(wlan: string, engine: Engine, log: Logger, roots: TxqRoots = DEFAULT_ROOTS): TxqPoller {
    if (engine.stations === undefined) throw new Error('TxqPoller needs an engine with per-station queues');
    const p = new TxqPoller(txqStationsDir(wlan, roots), engine, log);
    p.refreshStations();
    return p;
  }

  /** Reads the station list again: new stations start from their current counters, gone ones are forgotten. */
  refreshStations(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
      this.lastReadOkUs = monoNowUs();
    } catch (err) {
      once(this.log, 'txq-list', 'listing the stations failed (mac80211 backend: the queues are not read until it works again)', { dir: this.dir, err: String(err) });
      names = [];
    }
    const seen = new Set<string>();
    for (const name of names) {
      const mac = parseMac(name);
      if (mac === undefined) continue;
      seen.add(name);
      if (this.stations.has(name)) continue;
      const st: StationState = { mac, file: join(this.dir, name, 'aqm'), prev: emptyTxqStats(), cur: emptyTxqStats() };
      if (!this.read(st, st.prev)) continue;
      this.engine.stations?.directory.stationOf(mac);
      this.stations.set(name, st);
      this.log.info({ station: name }, 'station queues followed');
    }
    for (const [name, st] of this.stations) {
      if (seen.has(name)) continue;
      this.stations.delete(name);
      this.engine.stations?.onStationGone(monoNowUs(), st.mac);
      this.log.info({ station: name }, 'station gone');
    }
    this.stats.stations = this.stations.size;
  }

  /** One reading of every station's TXQs. */
  poll(): void {
    const now = monoNowUs();
    this.stats.polls++;
    for (const st of this.stations.values()) {
      if (!this.read(st, st.cur)) continue;
      this.stats.readings++;
      const d = txqDeparted(st.prev, st.cur);
      this.engine.onTxqReading(now, st.mac, d.packets, d.bytes, st.cur.backlogBytes, st.cur.backlogPackets);
      const dropped = st.cur.drops + st.cur.overlimit - (st.prev.drops + st.prev.overlimit);
      if (dropped > 0) this.stats.txqDrops += dropped;
      const t = st.prev;
      st.prev = st.cur;
      st.cur = t;
    }
  }

  private read(st: StationState, into: TxqStats): boolean {
    let text: string;
    try {
      text = readAqmOnce(st.file, this.buf);
    } catch {
      this.stats.readErrors++; // the station just left: the next refresh forgets it
      return false;
    }
    try {
      parseTxqStats(text, into);
      return true;
    } catch (err) {
      this.stats.parseErrors++;
      if (err instanceof TxqStatsError) once(this.log, 'txq-parse', `a station's aqm file did not parse: ${err.message}`, { file: st.file });
      else throw err;
      return false;
    }
  }
}
