import { describe, expect, it } from 'vitest';
import { formatMac, macNumber, parseMac, StationDirectory, writeMac } from '../../src/engine/station-directory.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { udpPacket } from '../helpers/packets.js';

function view(dst: string) {
  const v = newPacketView();
  decodePacket(udpPacket({ addr: '10.0.0.1', port: 1 }, { addr: dst, port: 2 }, new Uint8Array(4)), 'raw-ip', v);
  return v;
}

describe('StationDirectory', () => {
  it.each([
    ['02:00:00:00:00:0a', 0x02000000000a],
    ['ff:ff:ff:ff:ff:ff', 0xffffffffffff],
    ['42:00:00:00:01:00', 0x420000000100],
  ])('MAC %s <-> %d', (text, n) => {
    expect(parseMac(text)).toBe(n);
    expect(formatMac(n)).toBe(text);
    const b = new Uint8Array(8);
    b.set(text.split(':').map((x) => Number.parseInt(x, 16)), 2);
    expect(macNumber(b, 2)).toBe(n);
    const w = new Uint8Array(8);
    writeMac(n, w, 2);
    expect(w).toEqual(b);
  });

  it.each(['', '02:00:00:00:00', '02:00:00:00:00:0g', 'stations'])('%j is no MAC', (t) => {
    expect(parseMac(t)).toBeUndefined();
  });

  it('maps an address to the station that last carried it; unknown stations are not learnt', () => {
    const d = new StationDirectory();
    const a = d.stationOf(0xa);
    const b = d.stationOf(0xb);
    expect([a, b]).toEqual([1, 2]);
    expect(d.stationOf(0xa)).toBe(1);
    d.learn(view('10.2.0.1'), 0xc); // not a listed station
    expect(d.unknownMac).toBe(1);
    expect(d.stationOfPacket(view('10.2.0.1'))).toBe(0);
    d.learn(view('10.2.0.1'), 0xa);
    expect(d.stationOfPacket(view('10.2.0.1'))).toBe(a);
    d.learn(view('10.2.0.1'), 0xb); // roamed
    expect(d.stationOfPacket(view('10.2.0.1'))).toBe(b);
    expect(d.stationOfPacket(view('10.2.0.2'))).toBe(0);
    d.forgetAddressesOf(b);
    expect(d.stationOfPacket(view('10.2.0.1'))).toBe(0);
  });

  it('is bounded: stations beyond the table are 0, the oldest address goes first', () => {
    const d = new StationDirectory(2, 2);
    expect(d.stationOf(1)).toBe(1);
    expect(d.stationOf(2)).toBe(2);
    expect(d.stationOf(3)).toBe(0);
    d.learn(view('10.2.0.1'), 1);
    d.learn(view('10.2.0.2'), 1);
    d.learn(view('10.2.0.3'), 2);
    expect(d.stationOfPacket(view('10.2.0.1'))).toBe(0);
    expect(d.stationOfPacket(view('10.2.0.3'))).toBe(2);
  });
});
