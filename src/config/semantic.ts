/**
 * Checks the schema cannot express: CIDR prefixes, the HOST:PORT of the metrics endpoint, a rate
 * window made of whole slots, two distinct interfaces, pairs of values that contradict each other
 * (the drain gate closing below the level it releases at, a rate floor above the initial rate).
 * And warnings: what is valid but likely not meant (metrics served beyond the loopback).
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
  const drain = cfg.feedbackUpdater.drain;
  if (drain.closeMs !== undefined && drain.closeMs < drain.targetMs) {
    const segs = ['feedbackUpdater', 'drain', 'closeMs'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected at least feedbackUpdater.drain.targetMs = ${drain.targetMs} ms: the gate closes above closeMs and opens again at targetMs (got ${drain.closeMs})` });
  }
  if (ft.minRateBps > ft.initialRateBps) {
    const segs = ['fortuneTeller', 'minRateBps'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected at most fortuneTeller.initialRateBps = ${ft.initialRateBps}: a floor above the rate assumed before any measurement (got ${ft.minRateBps})` });
  }
  if (cfg.interfaces.eth === cfg.interfaces.wlan) {
    const segs = ['interfaces', 'wlan'];
    out.push({ path: dottedPath(segs), ...loc.at(segs), message: `expected an interface other than interfaces.eth (got ${describeValue(cfg.interfaces.wlan)} for both)` });
  }
  return out;
}

/** What is valid but likely not meant: one sentence each, for the log at start and check-config. */
export function configWarnings(cfg: Config): string[] {
  const out: string[] = [];
  const l = parseListen(cfg.metrics.listen);
  if (l !== undefined && !isLoopback(l.host)) {
    out.push(
      `metrics.listen ${cfg.metrics.listen} is not a loopback address: /metrics and /status (client addresses, flows) are served to that network without authentication; bind to 127.0.0.1 and scrape locally, or allow only the scraper in the firewall (docs/operations.md)`,
    );
  }
  return out;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
