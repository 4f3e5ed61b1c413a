import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IoHealth, SEND_FAILURE_TICKS, type InterfaceReading, type IoAction } from '../../src/daemon/io-health.js';
import { readInterface } from '../../src/daemon/interface-state.js';
import type { NfQueueStats } from '../../src/daemon/nfqueue.js';

const ETH = { ifindex: 2, up: true };
const WLAN = { ifindex: 3, up: true };
const started = new Map<string, InterfaceReading>([
  ['eth0', ETH],
  ['wlan0', WLAN],
]);
const q = (o: Partial<NfQueueStats> = {}): NfQueueStats => ({ receivedPackets: 0, verdicts: 0, enobufs: 0, ...o });
const ifs = (wlan: InterfaceReading | undefined, eth: InterfaceReading | undefined = ETH): Map<string, InterfaceReading | undefined> =>
  new Map([
    ['eth0', eth],
    ['wlan0', wlan],
  ]);
const kinds = (a: IoAction[]): string[] => a.map((x) => `${x.kind}: ${x.reason}`);

describe('IoHealth: what the daemon does when an I/O source stops working (issue 15, items 5 and 6)', () => {
  it.each([
    ['all well', ifs(WLAN), q(), []],
    ['wlan deleted', ifs(undefined), q(), ['close: interface wlan0 vanished: its tap is closed until an interface of that name is back']],
    ['eth re-created between two checks, up', ifs(WLAN, { ifindex: 9, up: true }), q(), ['reopen: interface eth0 was re-created (ifindex 2 -> 9): reopening its tap']],
    ['eth re-created between two checks, down', ifs(WLAN, { ifindex: 9, up: false }), q(), ['close: interface eth0 was re-created (ifindex 2 -> 9) but is down: its tap is reopened when it is up']],
    ['NFQUEUE no longer polled', ifs(WLAN), q({ pollStopped: true, lastRecvErrno: 9 }), ['fatal: the NFQUEUE socket is no longer read (errno 9)']],
    ['verdicts lost', ifs(WLAN), q({ verdictsLost: 12, lastSendErrno: 105 }), ['fatal: 12 NFQUEUE verdicts could not be sent (errno 105)']],
  ] as const)('%s', (_name, interfaces, nfq, want) => {
    const h = new IoHealth(started);
    expect(kinds(h.check({ nfq, interfaces }))).toEqual(want);
  });

  it('down: warned once; up again: its tap reopened, once', () => {
    const h = new IoHealth(started);
    const down = { ifindex: 3, up: false };
    expect(kinds(h.check({ nfq: q(), interfaces: ifs(down) }))).toEqual(['warn: interface wlan0 is down: its tap sees nothing until it is up again (then reopened)']);
    expect(h.check({ nfq: q(), interfaces: ifs(down) })).toEqual([]);
    expect(h.check({ nfq: q(), interfaces: ifs(WLAN) })).toEqual([{ kind: 'reopen', device: 'wlan0', recreated: false, reason: 'interface wlan0 is up again: reopening its tap' }]);
    expect(h.check({ nfq: q(), interfaces: ifs(WLAN) })).toEqual([]);
  });

  it('deleted, then back: closed once, gone while missing, then reopened as re-created (the queue backend too), once', () => {
    const h = new IoHealth(started);
    expect(h.check({ nfq: q(), interfaces: ifs(undefined) })).toEqual([{ kind: 'close', device: 'wlan0', reason: 'interface wlan0 vanished: its tap is closed until an interface of that name is back' }]);
    expect(h.check({ nfq: q(), interfaces: ifs(undefined) })).toEqual([]);
    expect(h.interfacesGone).toEqual(['wlan0']);
    // back, but down (hostapd brings it up later): nothing to open yet
    expect(kinds(h.check({ nfq: q(), interfaces: ifs({ ifindex: 12, up: false }) }))).toEqual(['close: interface wlan0 is back (ifindex 3 -> 12) but is down: its tap is reopened when it is up']);
    expect(h.interfacesGone).toEqual([]);
    expect(h.interfacesDown).toEqual(['wlan0']);
    expect(h.check({ nfq: q(), interfaces: ifs({ ifindex: 12, up: true }) })).toEqual([{ kind: 'reopen', device: 'wlan0', recreated: true, reason: 'interface wlan0 is up again: reopening its tap' }]);
    expect(h.check({ nfq: q(), interfaces: ifs({ ifindex: 12, up: true }) })).toEqual([]);
    // the new ifindex is now the one known: down and up again is a plain reopen
    expect(kinds(h.check({ nfq: q(), interfaces: ifs({ ifindex: 12, up: false }) }))).toEqual(['warn: interface wlan0 is down: its tap sees nothing until it is up again (then reopened)']);
    expect(h.check({ nfq: q(), interfaces: ifs({ ifindex: 12, up: true }) })).toEqual([{ kind: 'reopen', device: 'wlan0', recreated: false, reason: 'interface wlan0 is up again: reopening its tap' }]);
  });

  it('back up at once with the same ifindex after being gone: still a re-creation', () => {
    const h = new IoHealth(started);
    h.check({ nfq: q(), interfaces: ifs(undefined) });
    expect(h.check({ nfq: q(), interfaces: ifs(WLAN) })).toEqual([{ kind: 'reopen', device: 'wlan0', recreated: true, reason: 'interface wlan0 is back (ifindex 3 -> 3): reopening its tap' }]);
  });

  it(`a failed verdict send: counted while the next sends recover it; fatal after ${SEND_FAILURE_TICKS} ticks still failing with verdicts pending`, () => {
    const h = new IoHealth(started);
    // one failure, then sends succeed again (nothing pending)
    expect(h.check({ nfq: q({ sendErrors: 1, pendingVerdicts: 4 }), interfaces: ifs(WLAN) })).toEqual([]);
    expect(h.check({ nfq: q({ sendErrors: 1, pendingVerdicts: 0 }), interfaces: ifs(WLAN) })).toEqual([]);
    // failing on every tick
    const out: IoAction[][] = [];
    for (let k = 1; k <= SEND_FAILURE_TICKS; k++) out.push(h.check({ nfq: q({ sendErrors: 1 + k * 5, pendingVerdicts: 40, lastSendErrno: 11 }), interfaces: ifs(WLAN) }));
    expect(out.slice(0, -1).every((a) => a.length === 0)).toBe(true);
    expect(kinds(out.at(-1) ?? [])).toEqual([`fatal: NFQUEUE verdicts have failed to send for ${SEND_FAILURE_TICKS} s (errno 11)`]);
  });
});

describe('readInterface (sysfs)', () => {
  it.each([
    ['up', '3\n', '0x1003\n', { ifindex: 3, up: true }],
    ['down', '7\n', '0x1002\n', { ifindex: 7, up: false }],
    ['garbage', 'x\n', '0x1003\n', undefined],
  ] as const)('%s', (_n, ifindex, flags, want) => {
    const root = mkdtempSync(join(tmpdir(), 'zhuge-sys-'));
    try {
      mkdirSync(join(root, 'wl0'));
      writeFileSync(join(root, 'wl0', 'ifindex'), ifindex);
      writeFileSync(join(root, 'wl0', 'flags'), flags);
      expect(readInterface('wl0', root)).toEqual(want);
      expect(readInterface('gone', root)).toBeUndefined();
      expect(readInterface('../wl0', root)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
