/**
 * Which Wi-Fi station a downlink packet is queued for, for `queue.backend: mac80211`, where each
 * associated station has transmit queues of its own (mac80211's per-station TXQs) and so a
 * Fortune Teller of its own. Pure: learned from what the wlan tap sees entering mac80211 (an
 * Ethernet frame whose destination is the station's MAC, carrying the client's IP address), and
 * from the stations the backend lists (their MACs, from debugfs).
 *
 * Stations get small indices (1, 2, ...; 0 is "no station known": the shared default queue).
 * A client address maps to the station that last carried it (a client that roams or changes
 * address moves with it). Bounded: at most `maxStations` stations and `maxAddresses` addresses;
 * the oldest address is forgotten first. No allocation per packet once an address is known.
 */
import type { PacketView } from '../protocols/packet.js';

interface AddressEntry {
  station: number;
  /** the address words (IPv4: w0 only) to tell hash collisions apart */
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  v6: boolean;
}

/** A MAC address (6 bytes) as a number (exact: 48 bits). */
export function macNumber(b: Uint8Array, offset = 0): number {
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + (b[offset + i] ?? 0);
  return n;
}

/** "aa:bb:cc:dd:ee:ff" as a number, or undefined when it is not one. */
export function parseMac(text: string): number | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  return Number.parseInt(text.replaceAll(':', ''), 16);
}

export function formatMac(n: number): string {
  return n.toString(16).padStart(12, '0').replace(/(..)(?=.)/g, '$1:');
}

export class StationDirectory {
  private readonly byMac = new Map<number, number>();
  private readonly macOf: number[] = [0];
  private readonly addresses = new Map<number, AddressEntry>();
  /** counters: addresses learned, frames to a MAC not (yet) listed as a station */
  learned = 0;
  unknownMac = 0;

  constructor(
    private readonly maxStations = 1024,
    private readonly maxAddresses = 8192,
  ) {}

  /** The station's index, allocated at first sight (0 when the table is full). */
  stationOf(mac: number): number {
    const i = this.byMac.get(mac);
    if (i !== undefined) return i;
    if (this.byMac.size >= this.maxStations) return 0;
    const n = this.macOf.length;
    this.byMac.set(mac, n);
    this.macOf.push(mac);
    return n;
  }

  /** The index of a station already known, else 0. */
  knownStation(mac: number): number {
    return this.byMac.get(mac) ?? 0;
  }

  macOfStation(i: number): number | undefined {
    return i > 0 ? this.macOf[i] : undefined;
  }

  get stations(): number {
    return this.byMac.size;
  }

  /**
   * A frame the wlan tap saw entering mac80211 (decoded into `v`; `dstMac` from its Ethernet
   * header): its destination address now maps to that station, if the station is listed.
   */
  learn(v: PacketView, dstMac: number): void {
    const s = this.knownStation(dstMac);
    if (s === 0) {
      this.unknownMac++;
      return;
    }
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return;
    const k = addressHash(v, v6);
    const e = this.addresses.get(k);
    if (e !== undefined && e.v6 === v6 && e.w0 === v.dst0 && (!v6 || (e.w1 === v.dst1 && e.w2 === v.dst2 && e.w3 === v.dst3))) {
      e.station = s;
      return;
    }
    if (this.addresses.size >= this.maxAddresses) {
      const oldest = this.addresses.keys().next();
      if (oldest.done !== true) this.addresses.delete(oldest.value);
    }
    this.addresses.set(k, { station: s, w0: v.dst0, w1: v6 ? v.dst1 : 0, w2: v6 ? v.dst2 : 0, w3: v6 ? v.dst3 : 0, v6 });
    this.learned++;
  }

  /** The station a downlink packet to `v`'s destination is queued for (0: not known). */
  stationOfPacket(v: PacketView): number {
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return 0;
    const e = this.addresses.get(addressHash(v, v6));
    if (e === undefined || e.v6 !== v6 || e.w0 !== v.dst0) return 0;
    if (v6 && (e.w1 !== v.dst1 || e.w2 !== v.dst2 || e.w3 !== v.dst3)) return 0;
    return e.station;
  }

  /** A station left (no longer listed): its addresses are forgotten, its index kept for reuse by the same MAC. */
  forgetAddressesOf(station: number): void {
    for (const [k, e] of this.addresses) if (e.station === station) this.addresses.delete(k);
  }
}

/** IPv4: the address; IPv6: its four words mixed (collisions are told apart by the entry's words). */
export function addressKey(w0: number, w1: number, w2: number, w3: number, v6: boolean): number {
  if (!v6) return w0 >>> 0;
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w1 ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ w2 ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ w3 ^ (h >>> 13), 0xc2b2ae35);
  // above 2^32: never equal to an IPv4 key
  return 2 ** 32 + ((h ^ (h >>> 16)) >>> 0);
}

function addressHash(v: PacketView, v6: boolean): number {
  return addressKey(v.dst0, v.dst1, v.dst2, v.dst3, v6);
}
