import { describe, expect, it } from 'vitest';
import { healthOf, QUEUE_UNREAD_MS, WATCHDOG_FAILED_SHOWN_MS, type HealthReadings } from '../../src/daemon/health.js';

const S = 1_000_000; // µs per second

const ok: HealthReadings = {
  nowUs: 100 * S,
  rulesInstalled: true,
  queue: { problem: undefined, lastReadOkUs: 100 * S - 100_000, startedUs: 0, readIntervalMs: 100 },
  interfacesDown: [],
  interfacesGone: [],
  watchdogFailedAtUs: undefined,
};

describe('healthOf: what /healthz says', () => {
  it('healthy when rules are in, the queue visible and read, interfaces up, the watchdog never failed', () => {
    expect(healthOf(ok)).toEqual({ healthy: true, findings: [] });
  });

  const cases: Array<[string, Partial<HealthReadings>, string, RegExp]> = [
    ['rules missing', { rulesInstalled: false }, 'rules_missing', /rules not installed/],
    ['noqueue qdisc', { queue: { ...ok.queue, problem: "the interface's qdisc is noqueue" } }, 'queue_invisible', /invisible: the interface's qdisc is noqueue/],
    ['reads failing for 6 s', { queue: { ...ok.queue, lastReadOkUs: 94 * S } }, 'queue_unread', /not been read for 6 s/],
    ['never read, 6 s after start', { queue: { ...ok.queue, lastReadOkUs: undefined, startedUs: 94 * S } }, 'queue_unread', /never been read/],
    ['slow reads: 5 intervals of 2 s', { queue: { ...ok.queue, readIntervalMs: 2000, lastReadOkUs: 89 * S } }, 'queue_unread', /11 s/],
    ['wlan down', { interfacesDown: ['wlan0'] }, 'interface_down', /interface wlan0 is down/],
    ['wlan gone', { interfacesGone: ['wlan0'] }, 'interface_gone', /interface wlan0 does not exist/],
    ['watchdog failed 10 s ago', { watchdogFailedAtUs: 90 * S }, 'watchdog_failed', /could not remove the rules at a stall 10 s ago/],
  ];
  it.each(cases)('%s: 503 with the reason', (_name, change, problem, reason) => {
    const h = healthOf({ ...ok, ...change });
    expect(h.healthy).toBe(false);
    expect(h.findings).toHaveLength(1);
    expect(h.findings[0]?.problem).toBe(problem);
    expect(h.findings[0]?.reason).toMatch(reason);
  });

  const fine: Array<[string, Partial<HealthReadings>]> = [
    ['last read just within the limit', { queue: { ...ok.queue, lastReadOkUs: ok.nowUs - QUEUE_UNREAD_MS * 1000 } }],
    ['never read, but only 1 s after start', { queue: { ...ok.queue, lastReadOkUs: undefined, startedUs: 99 * S } }],
    ['slow reads within 5 intervals', { queue: { ...ok.queue, readIntervalMs: 2000, lastReadOkUs: 91 * S } }],
    ['the watchdog failed longer ago than shown', { nowUs: ok.nowUs + WATCHDOG_FAILED_SHOWN_MS * 1000 + 1, queue: { ...ok.queue, lastReadOkUs: ok.nowUs + WATCHDOG_FAILED_SHOWN_MS * 1000 }, watchdogFailedAtUs: ok.nowUs }],
  ];
  it.each(fine)('%s: healthy', (_name, change) => {
    expect(healthOf({ ...ok, ...change })).toEqual({ healthy: true, findings: [] });
  });

  it('every problem at once: one finding each, in a fixed order', () => {
    const h = healthOf({ ...ok, rulesInstalled: false, queue: { problem: 'none', lastReadOkUs: undefined, startedUs: 0, readIntervalMs: 100 }, interfacesDown: ['eth0', 'wlan0'], interfacesGone: ['wlan1'], watchdogFailedAtUs: 99 * S });
    expect(h.findings.map((f) => f.problem)).toEqual(['rules_missing', 'queue_invisible', 'queue_unread', 'interface_down', 'interface_down', 'interface_gone', 'watchdog_failed']);
  });
});
