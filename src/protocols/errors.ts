/**
 * Typed parse errors shared by every codec in src/protocols.
 *
 * A codec never throws anything but ParseError on bad input (property tests enforce it). The
 * `reason` is a short, stable, metric-safe code: the daemon counts malformed packets by reason
 * (`zhuge_malformed_packets_total{reason=...}`), so new reasons must stay few and generic.
 */
export type MalformedReason =
  | 'truncated' // fewer bytes than the header or a length field says
  | 'bad-version' // version field not one we know (IP 4/6, RTP 2, ...)
  | 'bad-length' // a length field is inconsistent (too small, beyond the buffer, not aligned)
  | 'bad-header' // a field has a value the format forbids
  | 'bad-checksum' // a checksum does not verify (only where a codec checks one)
  | 'unsupported'; // well-formed but a variant we do not decode (passed through untouched)

export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly reason: MalformedReason,
    readonly what: string,
  ) {
    super(`${what}: ${reason}`);
  }
}

/** Throws ParseError('truncated') unless `need` bytes are available from `offset` in a buffer of `length`. */
export function need(length: number, offset: number, need: number, what: string): void {
  if (offset < 0 || need < 0 || offset + need > length) throw new ParseError('truncated', what);
}
