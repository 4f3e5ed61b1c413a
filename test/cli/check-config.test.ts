import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/check-config.js';

const EXAMPLE = new URL('../../config/zhuge.example.yaml', import.meta.url).pathname;
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zhuge-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}
afterEach(() => vi.restoreAllMocks());

describe('zhuge check-config', () => {
  it('valid file: prints ok: FILE, exit 0', async () => {
    const io = capture();
    expect(await run([EXAMPLE])).toBe(0);
    expect(io.out()).toBe(`ok: ${EXAMPLE}`);
    expect(io.err()).toBe('');
  });

  it('invalid file: one line per problem with line:col, exit 3', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'interfaces:\n  eth: eth0\n  wlan: wlan0\nqueue:\n  bakend: qdisc\nflows:\n  dscp: [70]\n');
    const io = capture();
    expect(await run([f])).toBe(3);
    expect(io.out()).toBe('');
    expect(io.err().split('\n')).toEqual([
      `${f}:5:3: queue.bakend: expected a known key (got unknown key "bakend"; did you mean "backend"?)`,
      `${f}:7:10: flows.dscp[0]: expected an integer in 0..63 (got 70)`,
      `${f}: 2 problems`,
    ]);
  });

  it('YAML syntax error: exit 3 with the position', async () => {
    const f = join(dir, 'syntax.yaml');
    writeFileSync(f, 'interfaces:\n  eth: [eth0\n');
    const io = capture();
    expect(await run([f])).toBe(3);
    expect(io.err()).toMatch(new RegExp(`^${f}:\\d+:\\d+: \\(yaml\\): YAML syntax error: `));
  });

  it('missing file: exit 3', async () => {
    const io = capture();
    expect(await run([join(dir, 'nope.yaml')])).toBe(3);
    expect(io.err()).toContain('cannot read the configuration (no such file)');
  });

  it('--print shows the effective configuration with defaults', async () => {
    const f = join(dir, 'min.yaml');
    writeFileSync(f, 'interfaces: {eth: eth0, wlan: wlan0}\n');
    const io = capture();
    expect(await run([f, '--print'])).toBe(0);
    const json = io.out().slice(0, io.out().lastIndexOf('\nok: '));
    expect(JSON.parse(json)).toMatchObject({ nfqueue: { queueNum: 7000 }, metrics: { listen: '127.0.0.1:9469' } });
  });

  it.each([[['--bogus']], [['a.yaml', 'b.yaml']]])('usage error %j: exit 2', async (argv) => {
    const io = capture();
    expect(await run(argv)).toBe(2);
    expect(io.err()).toContain('usage: zhuge check-config');
  });

  it('--help: exit 0', async () => {
    const io = capture();
    expect(await run(['--help'])).toBe(0);
    expect(io.out()).toContain('usage: zhuge check-config');
  });
});
