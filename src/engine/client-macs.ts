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
import { addressKey } from './station-directory.js';

interface Entry {
  mac: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  v6: boolean;
}

export type MacCheck = 'match' | 'mismatch' | 'unknown';

export class ClientMacs {
  private readonly byAddress = new Map<number, Entry>();
  learned = 0;

  constructor(private readonly maxAddresses = 8192) {}

  get size(): number {
    return this.byAddress.size;
  }

  /** A downlink frame to `v`'s destination went to link-layer address `mac` (the wlan tap). */
  learnDestination(v: PacketView, mac: number): void {
    if (mac === 0 || Math.floor(mac / 2 ** 40) % 2 === 1) return; // none, or group (multicast/broadcast)
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return;
    const k = addressKey(v.dst0, v.dst1, v.dst2, v.dst3, v6);
    const e = this.byAddress.get(k);
    if (e !== undefined && e.v6 === v6 && e.w0 === v.dst0 && (!v6 || (e.w1 === v.dst1 && e.w2 === v.dst2 && e.w3 === v.dst3))) {
      e.mac = mac;
      return;
    }
    if (this.byAddress.size >= this.maxAddresses) {
      const oldest = this.byAddress.keys().next();
      if (oldest.done !== true) this.byAddress.delete(oldest.value);
    }
    this.byAddress.set(k, { mac, w0: v.dst0, w1: v6 ? v.dst1 : 0, w2: v6 ? v.dst2 : 0, w3: v6 ? v.dst3 : 0, v6 });
    this.learned++;
  }

  /** An uplink packet from `v`'s source address came from link-layer address `mac` (0: not known). */
  checkSource(v: PacketView, mac: number): MacCheck {
    if (mac === 0) return 'unknown';
    const v6 = v.l3 === 'ipv6';
    if (!v6 && v.l3 !== 'ipv4') return 'unknown';
    const e = this.byAddress.get(addressKey(v.src0, v.src1, v.src2, v.src3, v6));
    if (e === undefined || e.v6 !== v6 || e.w0 !== v.src0) return 'unknown';
    if (v6 && (e.w1 !== v.src1 || e.w2 !== v.src2 || e.w3 !== v.src3)) return 'unknown';
    return e.mac === mac ? 'match' : 'mismatch';
  }
}
