/** RTP packet builder for tests and synthetic traffic (cold path, allocates). zhuge never builds RTP. */
import { ParseError } from '../../src/protocols/errors.js';
import { EXT_PROFILE_ONE_BYTE, EXT_PROFILE_TWO_BYTE_BASE, RTP_FIXED_HEADER_LENGTH, RTP_VERSION } from '../../src/protocols/rtp.js';

export interface RtpExtensionSpec {
  id: number;
  data: Uint8Array;
}

export interface RtpBuildOptions {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: readonly number[];
  extensions?: readonly RtpExtensionSpec[];
  /** 'auto' (default): one-byte when every id is 1..14 and every length 1..16, else two-byte. */
  extensionForm?: 'auto' | 'one-byte' | 'two-byte';
  /** Two-byte form appbits (0..15). */
  appBits?: number;
  payload?: Uint8Array;
  /** Padding bytes to append (count byte included), 0..255. */
  padding?: number;
}

/** Builds an RTP packet (allocates; not for the hot path). Throws ParseError('bad-header') on impossible options. */
export function buildRtp(o: RtpBuildOptions): Uint8Array {
  const csrcs = o.csrcs ?? [];
  const exts = o.extensions ?? [];
  const payload = o.payload ?? new Uint8Array(0);
  const padding = o.padding ?? 0;
  if (csrcs.length > 15 || padding < 0 || padding > 255) throw new ParseError('bad-header', 'rtp-build');
  let form = o.extensionForm ?? 'auto';
  if (form === 'auto') {
    form = exts.every((e) => e.id >= 1 && e.id <= 14 && e.data.length >= 1 && e.data.length <= 16) ? 'one-byte' : 'two-byte';
  }
  let extBytes = 0;
  for (const e of exts) {
    if (form === 'one-byte') {
      if (e.id < 1 || e.id > 14 || e.data.length < 1 || e.data.length > 16) throw new ParseError('bad-header', 'rtp-build');
      extBytes += 1 + e.data.length;
    } else {
      if (e.id < 1 || e.id > 255 || e.data.length > 255) throw new ParseError('bad-header', 'rtp-build');
      extBytes += 2 + e.data.length;
    }
  }
  const extPadded = exts.length > 0 ? Math.ceil(extBytes / 4) * 4 : 0;
  const hasExt = exts.length > 0;
  const total = RTP_FIXED_HEADER_LENGTH + csrcs.length * 4 + (hasExt ? 4 + extPadded : 0) + payload.length + padding;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out[0] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (hasExt ? 0x10 : 0) | csrcs.length;
  out[1] = ((o.marker ?? false) ? 0x80 : 0) | (o.payloadType & 0x7f);
  dv.setUint16(2, o.sequenceNumber & 0xffff);
  dv.setUint32(4, o.timestamp >>> 0);
  dv.setUint32(8, o.ssrc >>> 0);
  let p = RTP_FIXED_HEADER_LENGTH;
  for (const c of csrcs) {
    dv.setUint32(p, c >>> 0);
    p += 4;
  }
  if (hasExt) {
    dv.setUint16(p, form === 'one-byte' ? EXT_PROFILE_ONE_BYTE : EXT_PROFILE_TWO_BYTE_BASE | ((o.appBits ?? 0) & 0x0f));
    dv.setUint16(p + 2, extPadded / 4);
    p += 4;
    const start = p;
    for (const e of exts) {
      if (form === 'one-byte') {
        out[p++] = (e.id << 4) | (e.data.length - 1);
      } else {
        out[p++] = e.id;
        out[p++] = e.data.length;
      }
      out.set(e.data, p);
      p += e.data.length;
    }
    p = start + extPadded; // zero bytes already there: padding elements
  }
  out.set(payload, p);
  if (padding > 0) out[total - 1] = padding;
  return out;
}
