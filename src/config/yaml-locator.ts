/**
 * Positions in the YAML document: where a JSON pointer (an ajv instancePath) or a key points,
 * as 1-based line:col, and the dotted path (`flows.quic.ports[1]`) problems are reported with.
 */
import { isMap, isPair, isScalar, type Document, type LineCounter, type Node as YamlNode } from 'yaml';

export type Segment = string | number;

export function pointerToSegments(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** `flows.quic.ports[1]`, `(root)` for the empty path. */
export function dottedPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out === '' ? '(root)' : out;
}

export interface Locator {
  /** Position of the node at `segments`, or of its nearest existing ancestor. */
  at(segments: readonly Segment[]): { line: number; col: number };
  /** Position of the key `key` of the mapping at `segments` (falls back to `at`). */
  key(segments: readonly Segment[], key: string): { line: number; col: number };
}

export function makeLocator(doc: Document, lc: LineCounter): Locator {
  const pos = (offset: number): { line: number; col: number } => {
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const nodeAt = (segments: readonly Segment[]): YamlNode | undefined => {
    for (let n = segments.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
      if (node !== null && node !== undefined && typeof node === 'object' && 'range' in node) {
        const r = (node as YamlNode).range;
        if (r !== undefined && r !== null) return node as YamlNode;
      }
    }
    return undefined;
  };
  return {
    at(segments) {
      const node = nodeAt(segments);
      return node?.range ? pos(node.range[0]) : { line: 1, col: 1 };
    },
    key(segments, key) {
      const parent = segments.length === 0 ? doc.contents : doc.getIn(segments, true);
      if (isMap(parent)) {
        for (const item of parent.items) {
          if (isPair(item) && isScalar(item.key) && String(item.key.value) === key && item.key.range) {
            return pos(item.key.range[0]);
          }
        }
      }
      return this.at(segments);
    },
  };
}
