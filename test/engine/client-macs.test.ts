import { describe, expect, it } from 'vitest';
import { ClientMacs } from '../../src/engine/client-macs.js';
import { decodePacket, newPacketView } from '../../src/protocols/packet.js';
import { udpPacket } from '../helpers/packets.js';

function view(src: string, dst: string) {
  const v = newPacketView();
  decodePacket(udpPacket({ addr: src, port: 1 }, { addr: dst, port: 2 }, new Uint8Array(4)), 'raw-ip', v);
  return v;
}
const A = 0x020000000001;
const B = 0x020000000002;

describe('ClientMacs', () => {
  it('learns a client address from downlink frames and checks the uplink source against it', () => {
    const m = new ClientMacs();
    expect(m.checkSource(view('10.2.0.1', '10.1.0.1'), A)).toBe('unknown');
    m.learnDestination(view('10.1.0.1', '10.2.0.1'), A);
    expect(m.checkSource(view('10.2.0.1', '10.1.0.1'), A)).toBe('match');
    expect(m.checkSource(view('10.2.0.1', '10.1.0.1'), B)).toBe('mismatch');
    expect(m.checkSource(view('10.2.0.1', '10.1.0.1'), 0)).toBe('unknown');
    expect(m.checkSource(view('10.2.0.9', '10.1.0.1'), B)).toBe('unknown');
    // the client roamed (or changed MAC): the next downlink frame re-learns it
    m.learnDestination(view('10.1.0.1', '10.2.0.1'), B);
    expect(m.checkSource(view('10.2.0.1', '10.1.0.1'), B)).toBe('match');
  });

  it.each([
    ['broadcast', 0xffffffffffff],
    ['multicast (group bit)', 0x01005e000001],
    ['none', 0],
  ])('never learns a %s destination', (_name, mac) => {
    const m = new ClientMacs();
    m.learnDestination(view('10.1.0.1', '10.2.0.1'), mac);
    expect(m.size).toBe(0);
  });

  it('is bounded: the oldest address goes first', () => {
    const m = new ClientMacs(2);
    m.learnDestination(view('10.1.0.1', '10.2.0.1'), A);
    m.learnDestination(view('10.1.0.1', '10.2.0.2'), A);
    m.learnDestination(view('10.1.0.1', '10.2.0.3'), B);
    expect(m.size).toBe(2);
    expect(m.checkSource(view('10.2.0.1', '10.1.0.1'), B)).toBe('unknown');
    expect(m.checkSource(view('10.2.0.3', '10.1.0.1'), B)).toBe('match');
  });
});
