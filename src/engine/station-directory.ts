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
import { AddressTable } from './address-table.js';

/** A MAC address (6 bytes) as a number (exact: 48 bits). */
export function macNumber(b: Uint8Array, offset = 0): number {
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + (b[offset + i] ?? 0);
  return n;
}

/** Writes a MAC address held as a number into 6 bytes (macNumber's inverse). */
export function writeMac(mac: number, b: Uint8Array, offset = 0): void {
  for (let i = 5, n = mac; i >= 0; i--, n = Math.floor(n / 256)) b[offset + i] = n % 256;
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
  private readonly addresses: AddressTable;
  /** counters: addresses learned, frames to a MAC not (yet) listed as a station */
  learned = 0;
  unknownMac = 0;

  constructor(
    private readonly maxStations = 1024,
    maxAddresses = 8192,
  ) {
    this.addresses = new AddressTable(maxAddresses);
  }

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
    if (this.addresses.set(v.dst0, v.dst1, v.dst2, v.dst3, v6, s)) this.learned++;
  }

  /** The station a downlink packet to `v`'s destination is queued for (0: not known). */
  stationOfPacket(v: PacketView): number {
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return 0;
    return this.addresses.get(v.dst0, v.dst1, v.dst2, v.dst3, v6) ?? 0;
  }

  /** A station left (no longer listed): its addresses are forgotten, its index kept for reuse by the same MAC. */
  forgetAddressesOf(station: number): void {
    this.addresses.deleteValue(station);
  }
}
