import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { VERSION } from '../src/version.js';

describe('cli', () => {
  it('prints the version from package.json', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await main(['--version'])).toBe(0);
    expect(log).toHaveBeenCalledWith(VERSION);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    log.mockRestore();
  });
  it('rejects an unknown command with the usage exit code', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['frobnicate'])).toBe(2);
    expect(String(err.mock.calls[0]?.[0])).toContain("unknown command 'frobnicate'");
    err.mockRestore();
  });
  it('reaches the harness commands through src/cli/harness.ts (testbed --help: usage, exit 0)', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['testbed', '--help'])).toBe(0);
    expect(String(err.mock.calls[0]?.[0])).toContain('usage: zhuge testbed up');
    err.mockRestore();
  });
});
