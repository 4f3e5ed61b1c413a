/**
 * Just enough of an 802.11 frame for the Wi-Fi testbed's medium: who it is for, and where the IP
 * packet of a data frame starts (so the medium's delivery log can name each packet by the same
 * match key the daemon's taps compute: src/protocols/flow-key.ts).
 *
 *   0        2          4                10               16               22        24
 *  +--------+----------+----------------+----------------+----------------+---------+
 *  | frame  | duration | address 1 (RA) | address 2 (TA) | address 3      | seq ctl |
 *  | control|          |                |                |                |         |
 *  +--------+----------+----------------+----------------+----------------+---------+
 *  [address 4, 6 bytes: only with both To-DS and From-DS]  [QoS control, 2: QoS data subtypes]
 *  [HT control, 4: QoS data with the Order bit]
 *  then, in a data frame, LLC/SNAP:  AA AA 03 | 00 00 00 | ethertype (2)  then the IP packet
 *
 * frame control (little-endian u16): bits 2-3 type (2 = data), bits 4-7 subtype (bit 3 of it:
 * QoS), bit 8 To-DS, bit 9 From-DS, bit 14 Protected, bit 15 Order. Frames are as hwsim hands them
 * to the medium: no FCS. Anything else (management, control, protected, A-MSDU, non-IP) gives
 * undefined: the medium still carries it, it just has no key.
 */

const SNAP = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00] as const;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/** The receiver address (address 1) of any frame long enough to have one. */
export function receiverAddress(frame: Uint8Array): Uint8Array | undefined {
  return frame.length >= 10 ? frame.subarray(4, 10) : undefined;
}

/** Where the IP packet of a data frame starts, or undefined when it carries none we can read. */
export function ipOffsetOf80211(frame: Uint8Array): number | undefined {
  if (frame.length < 24) return undefined;
  const fc = (frame[0] ?? 0) | ((frame[1] ?? 0) << 8);
  const type = (fc >> 2) & 3;
  const subtype = (fc >> 4) & 0xf;
  if (type !== 2 || (subtype & 0x4) !== 0) return undefined; // not data, or a null (no body)
  if ((fc & (1 << 14)) !== 0) return undefined; // protected: the body is ciphertext
  let o = 24;
  if ((fc & 0x0300) === 0x0300) o += 6;
  const qos = (subtype & 0x8) !== 0;
  if (qos) {
    if (frame.length < o + 2) return undefined;
    if (((frame[o] ?? 0) & 0x80) !== 0) return undefined; // A-MSDU present: subframes, not one packet
    o += 2;
    if ((fc & (1 << 15)) !== 0) o += 4;
  }
  if (frame.length < o + 8) return undefined;
  for (let i = 0; i < SNAP.length; i++) if (frame[o + i] !== SNAP[i]) return undefined;
  const ethertype = ((frame[o + 6] ?? 0) << 8) | (frame[o + 7] ?? 0);
  if (ethertype !== ETHERTYPE_IPV4 && ethertype !== ETHERTYPE_IPV6) return undefined;
  return o + 8;
}
