/**
 * Test-only model of libwebrtc's TransportFeedback encoder structure
 * (modules/rtp_rtcp/source/rtcp_packet/transport_feedback.cc), kept close to its control flow —
 * AddReceivedPacket -> AddMissingPackets (bulk: fill the pending chunk, emit, then whole 8191-long
 * "not received" runs, then a partial run set in one go) -> AddDeltaSize — rather than the
 * one-symbol-at-a-time loop src/protocols/rtcp/twcc.ts uses. The property test checks both give the
 * same chunks. Written from reading the C++; no code copied.
 */
const RUN_CAP = 0x1fff;
const ONE_BIT_CAP = 14;
const TWO_BIT_CAP = 7;

class LastChunkModel {
  sizes: number[] = [];
  size = 0;
  allSame = true;
  hasLarge = false;

  clear(): void {
    this.size = 0;
    this.allSame = true;
    this.hasLarge = false;
  }
  empty(): boolean {
    return this.size === 0;
  }
  canAdd(s: number): boolean {
    if (this.size < TWO_BIT_CAP) return true;
    if (this.size < ONE_BIT_CAP && !this.hasLarge && s !== 2) return true;
    if (this.size < RUN_CAP && this.allSame && this.sizes[0] === s) return true;
    return false;
  }
  add(s: number): void {
    if (this.size < ONE_BIT_CAP) this.sizes[this.size] = s;
    this.size++;
    this.allSame = this.allSame && s === this.sizes[0];
    this.hasLarge = this.hasLarge || s === 2;
  }
  addMissing(n: number): void {
    if (this.size !== 0) throw new Error('model: AddMissingPackets on a non-empty chunk (a DCHECK in libwebrtc)');
    this.sizes = Array<number>(ONE_BIT_CAP).fill(0);
    this.size = n;
  }
  emit(): number {
    if (this.allSame) {
      const c = this.runLength();
      this.clear();
      return c;
    }
    if (this.size === ONE_BIT_CAP) {
      const c = this.oneBit();
      this.clear();
      return c;
    }
    const c = this.twoBit(TWO_BIT_CAP);
    const rest = this.sizes.slice(TWO_BIT_CAP, this.size);
    this.clear();
    this.sizes = [];
    for (const s of rest) this.add(s);
    return c;
  }
  encodeLast(): number {
    if (this.allSame) return this.runLength();
    if (this.size <= TWO_BIT_CAP) return this.twoBit(this.size);
    return this.oneBit();
  }
  private runLength(): number {
    return ((this.sizes[0] ?? 0) << 13) | this.size;
  }
  private oneBit(): number {
    let c = 0x8000;
    for (let i = 0; i < this.size; i++) c |= (this.sizes[i] ?? 0) << (ONE_BIT_CAP - 1 - i);
    return c;
  }
  private twoBit(n: number): number {
    let c = 0xc000;
    for (let i = 0; i < n; i++) c |= (this.sizes[i] ?? 0) << (2 * (TWO_BIT_CAP - 1 - i));
    return c;
  }
}

/** Chunks libwebrtc emits for entries that end with a received packet. */
export function libwebrtcChunks(deltas: ReadonlyArray<number | null>): number[] {
  const encoded: number[] = [];
  const last = new LastChunkModel();
  let next = 0;
  deltas.forEach((d, i) => {
    if (d === null) return;
    let missing = i - next;
    if (missing > 0) {
      let done = false;
      if (!last.empty()) {
        while (missing > 0 && last.canAdd(0)) {
          last.add(0);
          missing--;
        }
        if (missing === 0) done = true;
        else encoded.push(last.emit());
      }
      if (!done) {
        const full = Math.floor(missing / RUN_CAP);
        for (let k = 0; k < full; k++) encoded.push(RUN_CAP);
        last.addMissing(missing % RUN_CAP);
      }
    }
    const s = d >= 0 && d <= 0xff ? 1 : 2;
    if (!last.canAdd(s)) encoded.push(last.emit());
    last.add(s);
    next = i + 1;
  });
  if (!last.empty()) encoded.push(last.encodeLast());
  return encoded;
}
