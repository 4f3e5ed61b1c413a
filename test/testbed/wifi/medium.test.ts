import { describe, expect, it } from 'vitest';
import {
  airtimeUs,
  decodeAttrs,
  encodeAttrs,
  HWSIM_ATTR_ADDR_RECEIVER,
  HWSIM_ATTR_ADDR_TRANSMITTER,
  HWSIM_ATTR_COOKIE,
  HWSIM_ATTR_FLAGS,
  HWSIM_ATTR_FRAME,
  HWSIM_ATTR_FREQ,
  HWSIM_ATTR_RX_RATE,
  HWSIM_ATTR_TX_INFO,
  HWSIM_TX_CTL_NO_ACK,
  HWSIM_TX_STAT_ACK,
  parseHwsimFrame,
  radioAddress,
  rxFrameAttrs,
  txInfoAttrs,
} from '../../../testbed/wifi/medium.js';

const u32 = (v: number): Buffer => Buffer.from(Uint32Array.of(v).buffer);

// an HWSIM_CMD_FRAME payload as hwsim 6.12 builds it (attribute order as in mac80211_hwsim_tx_frame_nl)
function kernelFrame(flags: number, frameLen = 30): Buffer {
  return encodeAttrs([
    [HWSIM_ATTR_ADDR_TRANSMITTER, radioAddress(0)],
    [HWSIM_ATTR_FRAME, Buffer.alloc(frameLen, 0xab)],
    [HWSIM_ATTR_FLAGS, u32(flags)],
    [HWSIM_ATTR_TX_INFO, Buffer.from([3, 2, 1, 1, 0xff, 0, 0xff, 0])],
    [HWSIM_ATTR_COOKIE, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])],
    [HWSIM_ATTR_FREQ, u32(2412)],
  ]);
}

describe('the medium: hwsim netlink attributes', () => {
  it('encodes attributes padded to 4 bytes and reads them back', () => {
    // golden bytes: len 4+6=10 (padded to 12), type 2, the address, 2 pad bytes; then a u32
    const b = encodeAttrs([
      [HWSIM_ATTR_ADDR_TRANSMITTER, radioAddress(1)],
      [HWSIM_ATTR_FLAGS, u32(5)],
    ]);
    expect(b.toString('hex')).toBe('0a000200' + '420000000100' + '0000' + '08000400' + '05000000');
    const a = decodeAttrs(b);
    expect(a.get(HWSIM_ATTR_ADDR_TRANSMITTER)?.toString('hex')).toBe('420000000100');
    expect(a.get(HWSIM_ATTR_FLAGS)?.readUInt32LE(0)).toBe(5);
  });

  it.each([
    ['a length below the header', Buffer.from('02000100', 'hex')],
    ['a length past the end', Buffer.from('10000100aabb', 'hex')],
    ['a short tail', Buffer.from('08000400050000', 'hex')],
  ])('stops at a malformed attribute: %s', (_what, b) => {
    expect(() => decodeAttrs(b)).not.toThrow();
    expect(decodeAttrs(b).size).toBe(0);
  });

  it('parses the kernel frame; a frame missing a needed attribute is refused', () => {
    const f = parseHwsimFrame(kernelFrame(1));
    expect(f?.transmitter.toString('hex')).toBe('420000000000');
    expect(f?.frame.length).toBe(30);
    expect(f?.flags).toBe(1);
    expect(f?.freq).toBe(2412);
    expect(f?.cookie.toString('hex')).toBe('0102030405060708');
    expect(parseHwsimFrame(encodeAttrs([[HWSIM_ATTR_FRAME, Buffer.alloc(30)]]))).toBeUndefined();
  });

  it('delivers to the receiver at the first rate of the chain, with the frame and frequency', () => {
    const f = parseHwsimFrame(kernelFrame(1));
    if (f === undefined) throw new Error('parse');
    const a = decodeAttrs(rxFrameAttrs(radioAddress(1), f, -30));
    expect(a.get(HWSIM_ATTR_ADDR_RECEIVER)?.toString('hex')).toBe('420000000100');
    expect(a.get(HWSIM_ATTR_RX_RATE)?.readUInt32LE(0)).toBe(3);
    expect(a.get(HWSIM_ATTR_FRAME)?.equals(f.frame)).toBe(true);
    expect(a.get(HWSIM_ATTR_FREQ)?.readUInt32LE(0)).toBe(2412);
  });

  it.each([
    [1, 1 | HWSIM_TX_STAT_ACK],
    [HWSIM_TX_CTL_NO_ACK, HWSIM_TX_CTL_NO_ACK],
  ])('tx status: flags %i -> %i, the cookie back, one try at the first rate', (flags, expected) => {
    const f = parseHwsimFrame(kernelFrame(flags));
    if (f === undefined) throw new Error('parse');
    const a = decodeAttrs(txInfoAttrs(f, -30));
    expect(a.get(HWSIM_ATTR_FLAGS)?.readUInt32LE(0)).toBe(expected);
    expect(a.get(HWSIM_ATTR_COOKIE)?.toString('hex')).toBe('0102030405060708');
    expect([...(a.get(HWSIM_ATTR_TX_INFO) ?? [])]).toEqual([3, 1, 0xff, 0, 0xff, 0, 0xff, 0]);
  });

  it('airtime: (bytes + 40) x 8 / rate', () => {
    expect(airtimeUs(1460, 4e6)).toBeCloseTo(3000, 6);
    expect(airtimeUs(0, 1e6)).toBeCloseTo(320, 6);
  });
});
