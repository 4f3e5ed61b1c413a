/** The records of a capture file whose packet decodes, each decoded into `view` (others skipped), with its link type. */
import { decodePacket, linkTypeFromDlt, type LinkType, type PacketView } from '../src/protocols/packet.js';
import { readCapture, type CaptureRecord } from '../src/protocols/pcap-file.js';

export type DecodedRecord = CaptureRecord & { lt: LinkType };

export function* decodedCapture(buf: Uint8Array, view: PacketView): Generator<DecodedRecord, void, undefined> {
  for (const r of readCapture(buf)) {
    const lt = linkTypeFromDlt(r.linkType);
    if (lt === undefined) continue;
    try {
      decodePacket(r.data, lt, view);
    } catch {
      continue;
    }
    yield { ...r, lt };
  }
}
