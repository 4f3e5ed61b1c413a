/**
 * Checks the schema cannot express: CIDR prefixes, the HOST:PORT of the metrics endpoint, a rate
 * window made of whole slots, two distinct interfaces.
 */
import { isIP } from 'node:net';
import type { Config } from './config.js';
import type { ConfigProblem } from './config-error.js';
import { describeValue } from './problems.js';
import { dottedPath, type Locator } from './yaml-locator.js';

/** Parses `HOST:PORT` / `[v6]:PORT`; undefined when malformed. */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(listen) ?? /^([^:[\]]+):(\d{1,5})$/.exec(listen);
  if (m === null) return undefined;
  const host = m[1] ?? '';
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  if (listen.startsWith('[') && isIP(host) !== 6) return undefined;
  if (!listen.startsWith('[') && isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) return undefined;
  return { host, port };
}

/** Parses an IPv4/IPv6 CIDR prefix; undefined when malformed. */
export function parseCidr(cidr: string): { address: string; family: 4 | 6; prefixLen: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (m === null) return undefined;
  const address = m[1] ?? '';
  const family = isIP(address);
  const prefixLen = Number(m[2]);
  if (family === 4 && prefixLen <= 32) return { address, family, prefixLen };
  if (family === 6 && prefixLen <= 128) return { address, family, prefixLen };
  return undefined;
}

export function semanticProblems(cfg: Config, loc: Locator): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  cfg.flows.clientSubnets.forEach((c, i) => {
    if (parseCidr(c) === undefined) {
      const segs = ['flows', 'clientSubnets', i];
      out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected a CIDR prefix like 192.168.1.0/24 or fd00::/64 (got ${describeValue(c)})` });
    }
  });
  if (parseListen(cfg.metrics.listen) === undefined) {
    const segs = ['metrics', 'listen'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected HOST:PORT, e.g. 127.0.0.1:9469 or [::1]:9469 (got ${describeValue(cfg.metrics.listen)})` });
  }
  const ft = cfg.fortuneTeller;
  if ((ft.rateWindowMs * 1000) % ft.slotUs !== 0 || ft.rateWindowMs * 1000 < ft.slotUs) {
    const segs = ['fortuneTeller', 'rateWindowMs'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected a whole number (>= 1) of slots of fortuneTeller.slotUs = ${ft.slotUs} µs (got ${ft.rateWindowMs} ms)` });
  }
  if (cfg.interfaces.eth === cfg.interfaces.wlan) {
    const segs = ['interfaces', 'wlan'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected an interface other than interfaces.eth (got ${describeValue(cfg.interfaces.wlan)} for both)` });
  }
  return out;
}
