import { describe, expect, it } from 'vitest';
import { ipOffsetOf80211, receiverAddress } from '../../../testbed/wifi/frame80211.js';
import { parseStationProfile, radioIndexOf, stationOfFrame } from '../../../testbed/wifi/medium.js';
import { packetMatchKey } from '../../../src/protocols/flow-key.js';
import { decodePacket, newPacketView } from '../../../src/protocols/packet.js';

const AP = [0x02, 0, 0, 0, 0, 0];
const STA2 = [0x02, 0, 0, 0, 2, 0];
const SNAP_IPV4 = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
// an IPv4/UDP packet: 20-byte header (id 0x1234, to 192.168.77.3), 8-byte UDP header, 20 bytes of payload
const IP = [
  0x45, 0, 0, 48, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 192, 168, 78, 2, 192, 168, 77, 3,
  0x13, 0x88, 0x13, 0x89, 0, 28, 0, 0, ...Array.from({ length: 20 }, (_, i) => i),
];

/** A data frame AP -> station 2 (From-DS): frame control, duration, RA, TA, SA, seq ctl, [QoS], body. */
function dataFrame(o: { qos?: boolean; amsdu?: boolean; protectedFrame?: boolean; order?: boolean; body?: readonly number[]; type?: number }): Uint8Array {
  const subtype = o.qos === true ? 0x8 : 0;
  const fc0 = ((o.type ?? 2) << 2) | (subtype << 4);
  const fc1 = 0x02 | (o.protectedFrame === true ? 0x40 : 0) | (o.order === true ? 0x80 : 0);
  const hdr = [fc0, fc1, 0, 0, ...STA2, ...AP, ...AP, 0x10, 0];
  const qos = o.qos === true ? [o.amsdu === true ? 0x80 : 0, 0, ...(o.order === true ? [0, 0, 0, 0] : [])] : [];
  return Uint8Array.from([...hdr, ...qos, ...(o.body ?? [...SNAP_IPV4, ...IP])]);
}

describe('802.11 frames in the medium', () => {
  it.each([
    ['a data frame', {}, 24 + 8],
    ['a QoS data frame', { qos: true }, 26 + 8],
    ['a QoS data frame with HT control (Order)', { qos: true, order: true }, 30 + 8],
    ['an A-MSDU', { qos: true, amsdu: true }, undefined],
    ['a protected frame', { protectedFrame: true }, undefined],
    ['a management frame', { type: 0 }, undefined],
    ['a data frame with no SNAP header', { body: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, undefined],
    ['a data frame cut short', { body: [0xaa, 0xaa, 0x03] }, undefined],
  ] as const)('%s: IP at %s', (_, o, want) => {
    expect(ipOffsetOf80211(dataFrame(o))).toBe(want);
  });

  it('never reads past a short frame, at any length', () => {
    const full = dataFrame({ qos: true });
    for (let n = 0; n < full.length; n++) expect(() => ipOffsetOf80211(full.subarray(0, n))).not.toThrow();
  });

  it('the key of the IP packet in a frame is the key the daemon computes from the same packet on its tap', () => {
    const f = dataFrame({ qos: true });
    const off = ipOffsetOf80211(f) ?? -1;
    const v = newPacketView();
    decodePacket(f.subarray(off), 'raw-ip', v);
    const inAir = packetMatchKey(v, f.subarray(off));
    // the same packet on the AP's Ethernet side, TTL one higher (not part of the key)
    const eth = Uint8Array.from([...AP, ...STA2, 0x08, 0x00, ...IP]);
    eth[14 + 8] = 65;
    const w = newPacketView();
    decodePacket(eth, 'ethernet', w);
    expect(packetMatchKey(w, eth)).toBe(inAir);
  });

  it('the station of a frame: its transmitter unless that is the AP, else its receiver', () => {
    const toSta2 = dataFrame({});
    expect(receiverAddress(toSta2)).toEqual(Uint8Array.from(STA2));
    expect(stationOfFrame(Buffer.from([0x42, 0, 0, 0, 0, 0]), toSta2)).toBe(2);
    expect(stationOfFrame(Buffer.from([0x42, 0, 0, 0, 1, 0]), toSta2)).toBe(1);
    const broadcast = Uint8Array.from(toSta2);
    broadcast.fill(0xff, 4, 10);
    expect(stationOfFrame(Buffer.from([0x42, 0, 0, 0, 0, 0]), broadcast)).toBeUndefined();
    expect(radioIndexOf(Uint8Array.from([0x02, 0, 0, 1, 2, 0]))).toBeUndefined();
  });

  it.each([
    ['2=0:1.5', [2, [[0, 1.5e6]]]],
    ['1=0:6,5:1.5', [1, [[0, 6e6], [5e6, 1.5e6]]]],
  ] as const)('--station %s', (text, want) => {
    expect(parseStationProfile(text)).toEqual(want);
  });

  it.each(['0=0:1', '=0:1', 'x=0:1', '2', '2=0:-1'])('--station %s is refused', (text) => {
    expect(() => parseStationProfile(text)).toThrow();
  });
});
