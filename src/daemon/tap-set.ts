/**
 * The daemon's two capture taps (capture.ts) as one set: opened at start, one closed while its
 * interface is gone, reopened when it is up again (the same interface after a down, or a new one
 * under the same name), all closed at stop. I/O only: io-health.ts decides when, daemon.ts asks.
 *
 * How a tap is opened is recomputed at each open (`argsOf`, for that device only): an interface
 * re-created under its name may have another MTU (the oversize check) and other addresses (the
 * eth tap's filter).
 */
import { linkTypeFromDlt, type LinkType } from '../protocols/packet.js';
import { Tap } from './capture.js';

export interface TapArgs {
  device: string;
  direction: 'inbound' | 'outbound';
  filter: string;
  /** 'arr': downlink arrivals (eth); 'dep': departures from the Wi-Fi queue (wlan) */
  role: 'arr' | 'dep';
  snapLength: number | undefined;
  /** the largest frame the interface's MTU allows (a larger one is an offload's super-packet) */
  maxFrameBytes: number;
}

/** What a tap does with a packet (the engine's arrival or departure, the oversize count). */
export type TapSink = (a: TapArgs, wallUs: number, data: Uint8Array, lt: LinkType, origLen: number) => void;

export class TapSet {
  /** in role order [eth, wlan]; undefined while that interface is gone */
  private readonly taps: Array<Tap | undefined>;

  /** `devices` in role order [eth, wlan]; `argsOf(device)` reads how to open that one's tap now. */
  constructor(
    readonly devices: readonly string[],
    private readonly argsOf: (device: string) => TapArgs,
    private readonly sink: TapSink,
  ) {
    this.taps = devices.map(() => undefined);
  }

  /** Opens every tap (at start; a throw leaves the ones opened so far to close). */
  openAll(): void {
    this.devices.forEach((dev, i) => {
      this.taps[i] = this.openOne(this.argsOf(dev));
    });
  }

  /** The taps open now. */
  get open(): Tap[] {
    return this.taps.filter((t): t is Tap => t !== undefined);
  }

  /** Closes `device`'s tap, if open (its interface is gone). */
  close(device: string): void {
    this.taps.forEach((t, i) => {
      if (t?.opts.device !== device) return;
      this.taps[i] = undefined;
      t.close();
    });
  }

  /** Closes `device`'s tap if open and opens it anew, with its arguments as they are now. */
  reopen(device: string): void {
    this.devices.forEach((dev, i) => {
      if (dev !== device) return;
      const old = this.taps[i];
      this.taps[i] = undefined;
      old?.close();
      this.taps[i] = this.openOne(this.argsOf(dev));
    });
  }

  /** Stats in role order (a closed tap reads zero: io-counter-sync.ts counts from 0 again). */
  stats(): ReturnType<Tap['stats']>[] {
    return this.taps.map((t) => t?.stats() ?? { delivered: 0, handlerErrors: 0, kernelDrops: 0, ifDrops: 0 });
  }

  private openOne(a: TapArgs): Tap {
    let lt: LinkType = 'ethernet';
    const tap = new Tap({ device: a.device, direction: a.direction, filter: a.filter, ...(a.snapLength === undefined ? {} : { snapLength: a.snapLength }) }, (wallUs, data, origLen) => {
      this.sink(a, wallUs, data, lt, origLen);
    });
    const l = linkTypeFromDlt(tap.dlt);
    if (l === undefined) {
      tap.close();
      throw new Error(`interface ${a.device}: unsupported link type (DLT ${tap.dlt})`);
    }
    lt = l;
    return tap;
  }
}
