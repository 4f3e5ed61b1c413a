/**
 * The daemon hands the RTP path's table bound from the configuration to the engine (the table's
 * eviction at its bound is tested in test/engine/rtp).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { engineOptionsFrom } from '../../src/daemon/engine-options.js';

const BASE = 'interfaces:\n  eth: eth0\n  wlan: wlan0\n';

describe('engineOptionsFrom: flows.rtp.maxTransports', () => {
  it.each([
    ['the default', '', 256],
    ['set', 'flows:\n  rtp:\n    maxTransports: 32\n', 32],
  ] as const)('%s: the engine bounds its RTP transports at %s', (_name, yaml, expected) => {
    const o = engineOptionsFrom(parseConfig(BASE + yaml, 'z.yaml'), 1);
    expect(o.rtp?.maxTransports).toBe(expected);
  });
});
