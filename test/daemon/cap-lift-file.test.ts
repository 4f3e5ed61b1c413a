import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapLiftFile, capLiftPath, decodeLifts, encodeLifts, liftCommand } from '../../src/daemon/cap-lift-file.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zhuge-lift-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const a = Uint8Array.from([0x45, 0, 0, 1]);
const b = Uint8Array.from([0x60, 0xab, 0xcd]);

describe('CapLiftFile', () => {
  it('round-trips datagrams through its lines, skipping what is not hex', () => {
    expect(encodeLifts([a, b])).toBe('45000001\n60abcd');
    expect(decodeLifts('45000001\n\nnot hex\n60abcd\n6')).toEqual([a, b]);
    expect(decodeLifts('')).toEqual([]);
  });

  it('holds exactly the lifts in force: written when they change, removed when none is left', () => {
    const f = new CapLiftFile(join(dir, 'lifts'));
    f.update([]);
    expect(existsSync(f.path)).toBe(false);
    f.update([a]);
    expect(decodeLifts(readFileSync(f.path, 'utf8'))).toEqual([a]);
    expect(statSync(f.path).mode & 0o777).toBe(0o600);
    writeFileSync(f.path, 'x'); // unchanged lifts are not written again
    f.update([a]);
    expect(readFileSync(f.path, 'utf8')).toBe('x');
    f.update([a, b]);
    expect(decodeLifts(readFileSync(f.path, 'utf8'))).toEqual([a, b]);
    f.clear();
    expect(existsSync(f.path)).toBe(false);
    expect(existsSync(`${f.path}.tmp`)).toBe(false);
  });

  it('reset() removes a file a dead daemon left, and forgets what it wrote', () => {
    const path = join(dir, 'lifts');
    writeFileSync(path, '45000001\n');
    const f = new CapLiftFile(path);
    f.reset();
    expect(existsSync(path)).toBe(false);
    f.update([a]);
    expect(existsSync(path)).toBe(true);
  });

  it("names one file per chain and a shell line that never fails the watchdog's removal", () => {
    expect(capLiftPath('ZHUGE-7', '/run')).toBe('/run/zhuge-remb-lifts-ZHUGE-7');
    const cmd = liftCommand('/run/zhuge-remb-lifts-ZHUGE-7', '/usr/bin/node');
    expect(cmd.startsWith("'/usr/bin/node' '")).toBe(true);
    expect(cmd).toContain("dist/src/daemon/send-lifts.js' '/run/zhuge-remb-lifts-ZHUGE-7'");
    expect(cmd.endsWith('|| true')).toBe(true);
  });
});
