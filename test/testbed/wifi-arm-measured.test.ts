import { describe, expect, it } from 'vitest';
import { armNotMeasured } from '../../testbed/wifi/tcp-drop.js';

describe('armNotMeasured: an arm of the UML TCP drop whose daemon could not clamp', () => {
  it.each([
    ['started, no trip', 'zhuge started after 3 s\nwatchdog trips before the transfer: 0\ntransfer from 8.4\n', undefined],
    ['without zhuge (no daemon lines)', 'transfer from 6.1\ntransfer done 21\ndone\n', undefined],
    ['metrics unreadable', 'zhuge started after 3 s\nwatchdog trips before the transfer: unknown\n', undefined],
    ['did not start', 'zhuge did not start\n{"level":"error"}\n', 'the daemon did not start'],
    ['a stall before the transfer', 'zhuge started after 2 s\nwatchdog trips before the transfer: 1\n', 'the watchdog removed the rules 1 time(s) before the transfer'],
  ])('%s', (_name, log, want) => {
    expect(armNotMeasured(log)).toBe(want);
  });
});
