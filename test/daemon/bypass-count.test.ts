import { describe, expect, it } from 'vitest';
import { BypassCount } from '../../src/daemon/bypass-count.js';

describe('BypassCount: uplink packets the kernel passed without queueing them to zhuge', () => {
  it.each<[string, Array<['install', number] | ['sample', number, number]>, number]>([
    ['every matched packet queued: none', [['install', 100], ['sample', 50, 150], ['sample', 80, 180]], 0],
    ['fail-open: matched but not queued', [['install', 100], ['sample', 50, 140], ['sample', 90, 160]], 30],
    ['a packet queued between the two reads hides one, never adds one', [['install', 0], ['sample', 10, 12]], 0],
    ['a lower reading later takes nothing back', [['install', 0], ['sample', 10, 5], ['sample', 12, 9]], 5],
    ['a reinstall restarts the rule counters: a new base', [['install', 0], ['sample', 10, 5], ['install', 5], ['sample', 3, 8]], 5],
    ['no reading of the queue at the install: nothing counted', [['install', Number.NaN], ['sample', 10, 0]], 0],
    ['unknown matched count (-1): nothing counted', [['install', 0], ['sample', -1, 0]], 0],
  ])('%s', (_name, steps, want) => {
    const b = new BypassCount();
    for (const s of steps) {
      if (s[0] === 'install') b.installing(s[1]);
      else b.sample(s[1], s[2]);
    }
    expect(b.total).toBe(want);
  });
});
