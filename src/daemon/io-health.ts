/**
 * Whether the daemon's I/O sources still work, judged once per housekeeping tick from what the
 * kernel says (interfaces in /sys, the NFQUEUE binding's counters). Pure: the daemon reads, this
 * decides, the daemon acts (interface-state.ts reads, daemon.ts acts).
 *
 * What an operator expects (docs/operations.md, "Fail-open behaviour" and "Exit codes"):
 *  - an interface set down is logged; when it comes back up its capture tap is reopened (libpcap's
 *    socket reports an error when its interface goes down, and node-pcap stops reading it);
 *  - an interface that vanished (deleted; hostapd and netifd re-create wlan interfaces at a
 *    channel or config change) is followed, not exited on: its tap is closed, /healthz says it is
 *    gone, and when an interface of that name exists again (a new ifindex) and is up, its tap is
 *    reopened and, for the wlan interface, the queue backend too (the qdisc poller reads by
 *    ifindex). An interface re-created between two checks is the same: closed and reopened at
 *    once. The rules match interfaces by name, so they match the new one as they did the old;
 *  - NFQUEUE: a socket no longer polled (re-arming failed), or verdicts dropped after repeated
 *    failed sends, means uplink packets would be held with nobody to release them: stop and exit
 *    1. A send that failed and is still failing three ticks later (its verdicts kept, unsent) is
 *    the same. A single failed send that the next one recovers is only counted.
 */
import type { NfQueueStats } from './nfqueue.js';

export interface InterfaceReading {
  ifindex: number;
  /** IFF_UP (administratively up) */
  up: boolean;
}

export interface IoSnapshot {
  /** the queue's counters (undefined: not open) */
  nfq: NfQueueStats | undefined;
  /** each tapped interface as read now (undefined: it no longer exists) */
  interfaces: ReadonlyMap<string, InterfaceReading | undefined>;
}

export type IoAction =
  | { kind: 'fatal'; reason: string }
  /** the interface is gone (or re-created and still down): close its tap */
  | { kind: 'close'; device: string; reason: string }
  /** reopen the tap (`recreated`: a new interface under the name, so the wlan queue backend too) */
  | { kind: 'reopen'; device: string; recreated: boolean; reason: string }
  | { kind: 'warn'; reason: string };

/** ticks a failed verdict send may stay unrecovered (verdicts pending, sends still failing) */
export const SEND_FAILURE_TICKS = 3;

export class IoHealth {
  private readonly down = new Set<string>();
  private readonly gone = new Set<string>();
  /** re-created while down: when it is up, the reopen is a re-creation's */
  private readonly recreatedDown = new Set<string>();
  /** each interface's ifindex as last seen existing */
  private readonly known: Map<string, InterfaceReading>;
  private lastSendErrors = 0;
  private lastVerdictsLost = 0;
  private sendFailingTicks = 0;

  /** tapped interfaces down at the last check (/healthz) */
  get interfacesDown(): string[] {
    return [...this.down];
  }

  /** tapped interfaces that did not exist at the last check (/healthz) */
  get interfacesGone(): string[] {
    return [...this.gone];
  }

  /** `started`: each tapped interface as read when its tap was opened. */
  constructor(started: ReadonlyMap<string, InterfaceReading>) {
    this.known = new Map(started);
  }

  check(s: IoSnapshot): IoAction[] {
    const out: IoAction[] = [];
    for (const [dev, last] of this.known) {
      const now = s.interfaces.get(dev);
      if (now === undefined) {
        if (!this.gone.has(dev)) {
          this.gone.add(dev);
          this.down.delete(dev);
          this.recreatedDown.delete(dev);
          out.push({ kind: 'close', device: dev, reason: `interface ${dev} vanished: its tap is closed until an interface of that name is back` });
        }
        continue;
      }
      if (this.gone.has(dev) || now.ifindex !== last.ifindex) {
        const was = this.gone.has(dev) ? 'is back' : 'was re-created';
        this.gone.delete(dev);
        this.known.set(dev, now);
        if (now.up) {
          this.down.delete(dev);
          this.recreatedDown.delete(dev);
          out.push({ kind: 'reopen', device: dev, recreated: true, reason: `interface ${dev} ${was} (ifindex ${last.ifindex} -> ${now.ifindex}): reopening its tap` });
        } else {
          this.down.add(dev);
          this.recreatedDown.add(dev);
          out.push({ kind: 'close', device: dev, reason: `interface ${dev} ${was} (ifindex ${last.ifindex} -> ${now.ifindex}) but is down: its tap is reopened when it is up` });
        }
        continue;
      }
      if (!now.up && !this.down.has(dev)) {
        this.down.add(dev);
        out.push({ kind: 'warn', reason: `interface ${dev} is down: its tap sees nothing until it is up again (then reopened)` });
      } else if (now.up && this.down.has(dev)) {
        this.down.delete(dev);
        const recreated = this.recreatedDown.delete(dev);
        out.push({ kind: 'reopen', device: dev, recreated, reason: `interface ${dev} is up again: reopening its tap` });
      }
    }
    const q = s.nfq;
    if (q !== undefined) {
      if (q.pollStopped === true) out.push({ kind: 'fatal', reason: `the NFQUEUE socket is no longer read (errno ${q.lastRecvErrno ?? 0})` });
      const lost = q.verdictsLost ?? 0;
      if (lost > this.lastVerdictsLost) out.push({ kind: 'fatal', reason: `${lost - this.lastVerdictsLost} NFQUEUE verdicts could not be sent (errno ${q.lastSendErrno ?? 0})` });
      this.lastVerdictsLost = lost;
      const sendErrors = q.sendErrors ?? 0;
      const failing = sendErrors > this.lastSendErrors && (q.pendingVerdicts ?? 0) > 0;
      this.sendFailingTicks = failing ? this.sendFailingTicks + 1 : 0;
      this.lastSendErrors = sendErrors;
      if (this.sendFailingTicks >= SEND_FAILURE_TICKS) {
        out.push({ kind: 'fatal', reason: `NFQUEUE verdicts have failed to send for ${this.sendFailingTicks} s (errno ${q.lastSendErrno ?? 0})` });
      }
    }
    return out;
  }
}
