import { describe, expect, it } from 'vitest';
import type { HtbClassView, HtbParmsView } from '../../src/daemon/rtnetlink.js';
import { shaperRate } from '../../src/daemon/shaper-rate.js';

const ROOT = 0xffffffff;
const parms = (rateBytesPerSec: number, ceilBytesPerSec: number): HtbParmsView => ({ rateBytesPerSec, ceilBytesPerSec, bufferTicks: 0, cbufferTicks: 0, quantum: 1514, linklayer: 1 });
const cls = (classid: number, parent: number, rate: number, ceil: number): HtbClassView => ({ classid, parent, parms: parms(rate, ceil) });
const htbRoot = { kind: 'htb', handle: 0x10000, parent: ROOT };
const leaf = { kind: 'bfifo', handle: 0x100000, parent: 0x10001 };

describe('shaperRate', () => {
  it.each([
    {
      name: 'as the kernel dumps it: a top-level class names TC_H_ROOT as its parent',
      qdiscs: [htbRoot, leaf],
      classes: [cls(0x10001, ROOT, 250_000, 250_000), cls(0x10002, 0x10001, 1000, 250_000)],
      want: { rateBps: 2_000_000 },
    },
    {
      name: 'a class of another qdisc (another major) is not this htb\'s',
      qdiscs: [htbRoot],
      classes: [cls(0x10001, ROOT, 1000, 62_500), cls(0x20001, ROOT, 1000, 125_000)],
      want: { rateBps: 500_000 },
    },
    {
      name: "the testbed's shape: one top-level class (its ceil), sub-classes ignored",
      qdiscs: [htbRoot, leaf],
      classes: [cls(0x10001, 0x10000, 250_000, 250_000), cls(0x10002, 0x10001, 1000, 250_000)],
      want: { rateBps: 2_000_000 },
    },
    { name: 'the ceil, not the guaranteed rate', qdiscs: [htbRoot], classes: [cls(0x10001, 0x10000, 1000, 62_500)], want: { rateBps: 500_000 } },
    { name: 'no qdisc', qdiscs: [], classes: [], want: { problem: 'the wlan interface has no root qdisc' } },
    { name: 'a root that is no htb', qdiscs: [{ kind: 'bfifo', handle: 0x10000, parent: ROOT }], classes: [], want: { problem: 'the wlan root qdisc is bfifo, not an htb shaper' } },
    { name: 'an htb without classes', qdiscs: [htbRoot], classes: [], want: { problem: 'the wlan htb has 0 top-level classes, not one: no single shaping rate' } },
    {
      name: 'two top-level classes',
      qdiscs: [htbRoot],
      classes: [cls(0x10001, 0x10000, 1, 100), cls(0x10002, 0x10000, 1, 200)],
      want: { problem: 'the wlan htb has 2 top-level classes, not one: no single shaping rate' },
    },
    { name: 'a ceil of 0', qdiscs: [htbRoot], classes: [cls(0x10001, 0x10000, 0, 0)], want: { problem: 'the wlan htb top-level class has no ceil' } },
  ])('$name', ({ qdiscs, classes, want }) => {
    expect(shaperRate(qdiscs, classes)).toEqual(want);
  });
});
