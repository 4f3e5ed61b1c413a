import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/index.js';
import { restartNeeded } from '../../src/daemon/reload-plan.js';

const MIN = 'interfaces:\n  eth: eth0\n  wlan: wlan0\n';
const cfg = (extra = ''): Config => parseConfig(`${MIN}${extra}`, 'z.yaml');

describe('restartNeeded (what SIGHUP cannot apply)', () => {
  it.each([
    ['', '', []],
    ['', 'log:\n  level: debug\n', []],
    ['', 'flows:\n  tcp:\n    ports: [5201]\n', []],
    ['', 'nfqueue:\n  maxLen: 100\n', ['nfqueue.maxLen']],
    ['', 'nfqueue:\n  failOpen: false\n', ['nfqueue.failOpen']],
    ['', 'nfqueue:\n  bridgeMark: 0x40\n', ['nfqueue.bridgeMark']],
    ['', 'watchdog:\n  stallMs: 300\n', ['watchdog.stallMs']],
    ['', 'metrics:\n  listen: 127.0.0.1:9999\n', ['metrics.listen']],
    ['', 'nfqueue:\n  chain: ZHUGE2\n  queueNum: 7001\n', ['nfqueue.queueNum', 'nfqueue.chain']],
    // the in-band path: off by a reload is fine, on needs the socket and poll opened at start
    ['', 'flows:\n  rtp:\n    enabled: false\n', []],
    ['flows:\n  rtp:\n    enabled: false\n', '', ['flows.rtp.enabled (off -> on)', 'flows.rtp.kernelDrops (off -> on)']],
    // repairs need whole packets captured from the start; with the REMB signal (the default) there are none to make
    ['flows:\n  rtp:\n    enabled: false\n', 'flows:\n  rtp:\n    signal: twcc\n', ['flows.rtp.enabled (off -> on)', 'flows.rtp.kernelDrops (off -> on)', 'flows.rtp.repairDrops (off -> on)']],
    ['', 'flows:\n  rtp:\n    signal: twcc\n', ['flows.rtp.repairDrops (off -> on)']],
    ['flows:\n  rtp:\n    kernelDrops: false\n', '', ['flows.rtp.kernelDrops (off -> on)']],
  ])('started with %j, reloaded with %j: %j', (started, next, expected) => {
    expect(restartNeeded(cfg(started), cfg(next))).toEqual(expected);
  });
});
