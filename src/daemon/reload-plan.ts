/**
 * What a configuration reload (SIGHUP) can apply to a running daemon, and what needs a restart.
 * Pure. A reload that would change a setting the daemon only reads at start is refused as a
 * whole, naming the settings: answering "reloaded" while running with the old value is worse
 * than asking for a restart.
 */
import type { Config } from '../config/index.js';

/** Settings read only at start: [dotted name, getter]. */
const AT_START: ReadonlyArray<[string, (c: Config) => unknown]> = [
  ['interfaces.eth', (c) => c.interfaces.eth],
  ['interfaces.wlan', (c) => c.interfaces.wlan],
  ['queue.backend', (c) => c.queue.backend],
  ['nfqueue.queueNum', (c) => c.nfqueue.queueNum],
  ['nfqueue.chain', (c) => c.nfqueue.chain],
  ['nfqueue.maxLen', (c) => c.nfqueue.maxLen],
  ['nfqueue.failOpen', (c) => c.nfqueue.failOpen],
  ['nfqueue.bridgeMark', (c) => c.nfqueue.bridgeMark],
  ['watchdog.stallMs', (c) => c.watchdog.stallMs],
  ['metrics.listen', (c) => c.metrics.listen],
  ['queue.resyncIntervalMs', (c) => c.queue.resyncIntervalMs],
  ['queue.txqPollMs', (c) => c.queue.txqPollMs],
  ['queue.rateFrom', (c) => c.queue.rateFrom],
];

/**
 * Settings that can be turned off by a reload but only on at a restart: the in-band path's
 * feedback socket and its drop-counter poll are opened at start (turned on by a reload, the
 * client's feedback would be removed with nothing built in its place).
 */
const ON_AT_START: ReadonlyArray<[string, (c: Config) => boolean]> = [
  ['flows.rtp.enabled', (c) => c.flows.rtp.enabled],
  ['flows.rtp.kernelDrops', (c) => c.flows.rtp.enabled && c.flows.rtp.kernelDrops],
  // the eth tap's snap length is chosen at start
  ['flows.rtp.repairDrops', (c) => c.flows.rtp.enabled && c.flows.rtp.repairDrops && c.flows.rtp.reportTiming === 'departure' && c.flows.rtp.signal !== 'remb'],
];

/**
 * The settings that differ between `started` (the configuration the daemon started with) and
 * `next` but can only change at a restart.
 */
export function restartNeeded(started: Config, next: Config): string[] {
  return [
    ...AT_START.filter(([, get]) => get(started) !== get(next)).map(([name]) => name),
    ...ON_AT_START.filter(([, on]) => !on(started) && on(next)).map(([name]) => `${name} (off -> on)`),
  ];
}
