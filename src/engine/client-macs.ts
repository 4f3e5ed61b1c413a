/**
 * Which Wi-Fi link-layer address each client IP address is behind, learnt from the downlink
 * frames the wlan tap sees (their Ethernet destination), so that an uplink packet claiming a
 * client's address from another station's MAC (NFQA_HWADDR) is known for a forgery. Without it, a
 * Wi-Fi client could send RTCP from another client's 5-tuple and change that client's RTP
 * transport (its mode, the feedback it gets) or feed another client's TCP flow ACKs. Pure,
 * bounded (the oldest address is forgotten first), no allocation once an address is known.
 *
 * Only unicast destinations are learnt. A client that roams to another station, or changes its
 * MAC, is re-learnt from the next downlink frame to it; until then its uplink is treated as a
 * forgery (passed untouched, counted), which is the safe side: untouched traffic is what the
 * client would have had without zhuge.
 */
import type { PacketView } from '../protocols/packet.js';
import { AddressTable } from './address-table.js';

export type MacCheck = 'match' | 'mismatch' | 'unknown';

export class ClientMacs {
  private readonly byAddress: AddressTable;
  learned = 0;

  constructor(maxAddresses = 8192) {
    this.byAddress = new AddressTable(maxAddresses);
  }

  get size(): number {
    return this.byAddress.size;
  }

  /** A downlink frame to `v`'s destination went to link-layer address `mac` (the wlan tap). */
  learnDestination(v: PacketView, mac: number): void {
    if (mac === 0 || Math.floor(mac / 2 ** 40) % 2 === 1) return; // none, or group (multicast/broadcast)
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return;
    if (this.byAddress.set(v.dst0, v.dst1, v.dst2, v.dst3, v6, mac)) this.learned++;
  }

  /** An uplink packet from `v`'s source address came from link-layer address `mac` (0: not known). */
  checkSource(v: PacketView, mac: number): MacCheck {
    if (mac === 0) return 'unknown';
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return 'unknown';
    const known = this.byAddress.get(v.src0, v.src1, v.src2, v.src3, v6);
    if (known === undefined) return 'unknown';
    return known === mac ? 'match' : 'mismatch';
  }
}
