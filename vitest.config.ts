import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // netns integration tests share kernel state (iptables, namespaces): never run files in parallel there
    fileParallelism: process.env['ZHUGE_TEST_SERIAL'] === '1' ? false : true,
    testTimeout: 20_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
