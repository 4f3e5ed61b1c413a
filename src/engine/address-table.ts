/**
 * A bounded map from a client IP address (IPv4 or IPv6, as a PacketView's four address words) to
 * a number, for the tables the engine learns from the wlan tap (station-directory.ts,
 * client-macs.ts). Keyed by a number (no string per packet); entries keep the address words, so
 * an IPv6 hash collision reads as "not known". The oldest address goes first when it is full.
 */

interface Entry {
  value: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  v6: boolean;
}

/** IPv4: the address; IPv6: its four words mixed (collisions are told apart by the entry's words). */
export function addressKey(w0: number, w1: number, w2: number, w3: number, v6: boolean): number {
  if (!v6) return w0 >>> 0;
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w1 ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ w2 ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ w3 ^ (h >>> 13), 0xc2b2ae35);
  // above 2^32: never equal to an IPv4 key
  return 2 ** 32 + ((h ^ (h >>> 16)) >>> 0);
}

export class AddressTable {
  private readonly map = new Map<number, Entry>();

  constructor(private readonly maxAddresses: number) {}

  get size(): number {
    return this.map.size;
  }

  /** Sets the address's value; returns true when the address was not known before. */
  set(w0: number, w1: number, w2: number, w3: number, v6: boolean, value: number): boolean {
    const k = addressKey(w0, w1, w2, w3, v6);
    const e = this.map.get(k);
    if (e !== undefined && same(e, w0, w1, w2, w3, v6)) {
      e.value = value;
      return false;
    }
    if (this.map.size >= this.maxAddresses) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    this.map.set(k, { value, w0, w1: v6 ? w1 : 0, w2: v6 ? w2 : 0, w3: v6 ? w3 : 0, v6 });
    return true;
  }

  get(w0: number, w1: number, w2: number, w3: number, v6: boolean): number | undefined {
    const e = this.map.get(addressKey(w0, w1, w2, w3, v6));
    return e !== undefined && same(e, w0, w1, w2, w3, v6) ? e.value : undefined;
  }

  /** Forgets every address whose value is `value`. */
  deleteValue(value: number): void {
    for (const [k, e] of this.map) if (e.value === value) this.map.delete(k);
  }
}

function same(e: Entry, w0: number, w1: number, w2: number, w3: number, v6: boolean): boolean {
  return e.v6 === v6 && e.w0 === w0 && (!v6 || (e.w1 === w1 && e.w2 === w2 && e.w3 === w3));
}
