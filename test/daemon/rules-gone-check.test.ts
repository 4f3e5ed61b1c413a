/**
 * The watchdog's check that its removal worked (IptablesRules.goneCheckCommand, run by
 * /bin/sh): gone only when iptables itself says the jump or the chain does not exist. Before,
 * any failure of iptables counted as gone (`! iptables -C ...`), so an iptables that could not
 * look (exit 4: permission denied, the xtables lock) made the watchdog report "removed".
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IptablesRules } from '../../src/daemon/rules.js';

const dir = mkdtempSync(join(tmpdir(), 'zhuge-gone-'));

/** An iptables stand-in that exits with `code` (and says what it was asked). */
function fakeIptables(name: string, code: number): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\necho "$@" >> ${join(dir, `${name}.calls`)}\nexit ${code}\n`);
  chmodSync(p, 0o755);
  return p;
}

function gone(cmd: string): boolean {
  try {
    execFileSync('/bin/sh', ['-c', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('goneCheckCommand: gone only on iptables\' own word', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [0, 'the jump is there', false],
    [1, 'no such rule', true],
    [2, 'no such chain', true],
    [4, 'iptables could not look (permission, lock)', false],
    [3, 'any other failure', false],
  ])('iptables -C exits %i (%s): gone %s', (code, _what, want) => {
    const r = new IptablesRules({ chainPrefix: 'ZHUGE', iptables: fakeIptables(`ipt${code}`, code) });
    expect(gone(r.goneCheckCommand())).toBe(want);
  });

  it('no such binary (a host without ip6tables): gone; both families must be gone for the whole check', () => {
    const missing = new IptablesRules({ chainPrefix: 'ZHUGE', ipv6: true, iptables: join(dir, 'no-such-ip6tables') });
    expect(gone(missing.goneCheckCommand())).toBe(true);
    const v4gone = new IptablesRules({ chainPrefix: 'ZHUGE', iptables: fakeIptables('v4gone', 1) });
    const v4there = new IptablesRules({ chainPrefix: 'ZHUGE', iptables: fakeIptables('v4there', 0) });
    expect(gone(`${v4gone.goneCheckCommand()} && ${missing.goneCheckCommand()}`)).toBe(true);
    expect(gone(`${v4there.goneCheckCommand()} && ${missing.goneCheckCommand()}`)).toBe(false);
    expect(gone(`${v4gone.goneCheckCommand()} && ${new IptablesRules({ chainPrefix: 'ZHUGE', iptables: fakeIptables('v6perm', 4) }).goneCheckCommand()}`)).toBe(false);
  });
});
