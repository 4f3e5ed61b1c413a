import { defineConfig } from 'vitest/config';

/**
 * Two groups:
 *  - unit (default): pure and in-process tests, files in parallel;
 *  - netns (ZHUGE_TESTS=netns): tests that build network namespaces, iptables rules and run the
 *    daemon (root; they skip with a visible reason otherwise). They measure timing, so their
 *    files run one at a time: two testbeds competing for two cores would measure each other.
 */
const NETNS = [
  'test/integration/**/*.test.ts',
  'test/testbed/testbed.test.ts',
  'test/testbed/webrtc.test.ts',
  'test/daemon/rawsock.test.ts',
  'test/daemon/nfqueue.test.ts',
  'test/daemon/rules.test.ts',
  'test/daemon/watchdog.test.ts',
];
const netns = process.env['ZHUGE_TESTS'] === 'netns';

export default defineConfig({
  test: {
    include: netns ? NETNS : ['test/**/*.test.ts'],
    exclude: netns ? [] : NETNS,
    fileParallelism: !netns,
    testTimeout: 20_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
