import { describe, expect, it } from 'vitest';
import { effectiveCaps, missingCaps, privilegeProblem } from '../../src/daemon/capabilities.js';

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\n`;

describe('privilegeProblem: root, or CAP_NET_ADMIN + CAP_NET_RAW', () => {
  it.each([
    // [uid, CapEff, problem]
    [0, '0000000000000000', undefined],
    [1000, '0000000000003000', undefined], // bits 12 and 13
    [1000, '000001ffffffffff', undefined], // a full set
    [1000, '0000000000001000', /missing CAP_NET_RAW/],
    [1000, '0000000000002000', /missing CAP_NET_ADMIN\b/],
    [1000, '0000000000000000', /missing CAP_NET_ADMIN, CAP_NET_RAW/],
  ])('uid %d with CapEff %s', (uid, capEff, problem) => {
    const p = privilegeProblem(uid, () => status(capEff));
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
  });

  it('parses the effective set; an unreadable /proc means not privileged', () => {
    expect(effectiveCaps(status('0000000000003000'))).toBe(0x3000n);
    expect(effectiveCaps('no caps here')).toBe(0n);
    expect(missingCaps(0x3000n)).toEqual([]);
    expect(privilegeProblem(1000, () => {
      throw new Error('ENOENT');
    })).toMatch(/missing/);
  });
});
