/**
 * The link's rate as the Wi-Fi queue's own shaper states it (`queue.rateFrom: shaper`). On an
 * AP whose queue is an htb shaper with a FIFO below it (docs/operations.md; the netns testbed),
 * the shaper is the bottleneck: the ceil of its one top-level class is the rate the queue is
 * served at, known the moment it changes, where the measured service rate needs a few departures
 * at the new rate (and after a short dip cannot tell it from a lasting drop). Pure.
 *
 *   root qdisc htb (handle 1:)
 *     └─ class 1:1  rate R ceil C   ← the one top-level class: the queue is served at C
 *          └─ ... (leaves, sub-classes)
 */
import type { HtbClassView, QdiscStats } from './rtnetlink.js';
import { rootQdisc } from './rtnetlink.js';

const TC_H_ROOT = 0xffffffff;

export type ShaperRate = { readonly rateBps: number } | { readonly problem: string };

export function shaperRate(qdiscs: readonly Pick<QdiscStats, 'kind' | 'handle' | 'parent'>[], classes: readonly HtbClassView[]): ShaperRate {
  const root = rootQdisc(qdiscs);
  if (root === undefined) return { problem: 'the wlan interface has no root qdisc' };
  if (root.kind !== 'htb') return { problem: `the wlan root qdisc is ${root.kind || 'unknown'}, not an htb shaper` };
  // a top-level class names TC_H_ROOT as its parent (htb_dump_class), or the qdisc's handle
  const major = (root.handle & 0xffff0000) >>> 0;
  const top = classes.filter((c) => (c.classid & 0xffff0000) >>> 0 === major && (c.parent === TC_H_ROOT || c.parent === root.handle));
  if (top.length !== 1) return { problem: `the wlan htb has ${top.length} top-level classes, not one: no single shaping rate` };
  const ceil = top[0]?.parms.ceilBytesPerSec ?? 0;
  if (!(ceil > 0)) return { problem: 'the wlan htb top-level class has no ceil' };
  return { rateBps: ceil * 8 };
}
