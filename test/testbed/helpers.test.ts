import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WallToMono } from '../../src/daemon/clock.js';
import { parseIperfJson, parsePingLine, parseSsDump, median } from '../../testbed/traffic.js';
import { DelayLine, parseRelayArgs, ruleArgs } from '../../testbed/relay.js';
import { addrsFor, bufferBytesFor, namesFor, octetForPrefix, validatePrefix } from '../../testbed/topology.js';

describe('topology naming', () => {
  it('names fit IFNAMSIZ and carry the prefix', () => {
    const n = namesFor('zgabcdefghi');
    for (const i of Object.values(n.ifaces)) {
      expect(i.length).toBeLessThanOrEqual(15);
      expect(i.startsWith('zgabcdefghi')).toBe(true);
    }
    expect(n.ifaces.apEth).toBe('zgabcdefghieth');
    expect(n.ifaces.apWlan).toBe('zgabcdefghiwlan');
    expect(n.ns).toEqual({ srv: 'zgabcdefghi-srv', wan: 'zgabcdefghi-wan', ap: 'zgabcdefghi-ap', cli: 'zgabcdefghi-cli' });
  });
  it.each(['', 'Zg', '1zg', 'zg-x', 'zgabcdefghij'])('rejects prefix %j', (p) => {
    expect(() => validatePrefix(p)).toThrow(RangeError);
  });
  it('addresses and buffer sizing', () => {
    expect(addrsFor(7)).toEqual({
      srv: '10.7.1.1', wanSrv: '10.7.1.2', wanAp: '10.7.2.1', apEth: '10.7.2.2', apWlan: '10.7.3.1', cli: '10.7.3.2',
    });
    expect(bufferBytesFor(30e6, 100)).toBe(375_000);
    expect(bufferBytesFor(8_000, 10)).toBe(3028);
    for (const p of ['zg1', 'zg2', 'zgabcd', 'a']) {
      const o = octetForPrefix(p);
      expect(o).toBeGreaterThanOrEqual(1);
      expect(o).toBeLessThanOrEqual(254);
    }
  });
});

describe('parsers', () => {
  it('ping -D line → mono ms', () => {
    const w = new WallToMono();
    const s = parsePingLine('[1795278778.123456] 64 bytes from 10.49.3.2: icmp_seq=17 ttl=62 time=50.7 ms', w);
    expect(s?.rttMs).toBe(50.7);
    expect(s?.seq).toBe(17);
    expect(s?.tMs).toBeCloseTo(w.toMono(1795278778123456) / 1000, 3);
    expect(parsePingLine('PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.', w)).toBeUndefined();
  });
  it('ss -tinH dump → the data connection (most bytes acked)', () => {
    const dump = [
      '0      0         10.49.1.1:38620  10.49.3.2:5201',
      '\t cubic wscale:7,7 rto:204 rtt:0.5/0.25 mss:1448 cwnd:10 bytes_acked:200 segs_out:5',
      '0      1234567   10.49.1.1:38626  10.49.3.2:5201',
      '\t bbr wscale:7,7 rto:280 rtt:72.156/3.1 ato:40 mss:1448 cwnd:161 bytes_acked:1366950 segs_out:999',
    ].join('\n');
    expect(parseSsDump(dump)).toEqual({ rttMs: 72.156, cwnd: 161, localPort: 38626, bytesAcked: 1366950 });
    expect(parseSsDump('')).toBeUndefined();
    // IPv6 (a dual-stack testbed): addresses in brackets
    const v6 = ['0      0      [fd00:62:1::1]:41234 [fd00:62:3::2]:5201', '\t cubic wscale:7,7 rto:204 rtt:95.1/2.5 mss:1428 cwnd:40 bytes_acked:5000 segs_out:9'].join('\n');
    expect(parseSsDump(v6)).toEqual({ rttMs: 95.1, cwnd: 40, localPort: 41234, bytesAcked: 5000 });
  });
  it('iperf3 json with server output', () => {
    const iv = (s: number, bps: number, extra: object) => ({ sum: { start: s, end: s + 0.1, bits_per_second: bps }, streams: [extra] });
    const j = {
      intervals: [iv(0, 2e7, { rtt: 5000, snd_cwnd: 10000, retransmits: 0 })],
      end: { sum_sent: { bytes: 100 }, sum_received: { bytes: 90, bits_per_second: 1.9e7 } },
      server_output_json: { intervals: [iv(0, 1.9e7, {}), iv(0.1, 1.8e7, {})] },
    };
    const r = parseIperfJson(JSON.stringify(j), 1000);
    expect(r.sender).toEqual([{ startMs: 1000, endMs: 1100, bps: 2e7, rttUs: 5000, cwndBytes: 10000, retransmits: 0 }]);
    expect(r.receiver.map((x) => x.bps)).toEqual([1.9e7, 1.8e7]);
    expect(r.receiver[1]?.startMs).toBe(1100);
    expect(r.receiverBps).toBe(1.9e7);
    expect(() => parseIperfJson(JSON.stringify({ error: 'unable to connect' }), 0)).toThrow(/unable/);
  });
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('relay', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('DelayLine releases each item holdUs after arrival, in order, in batches per timer', () => {
    let nowUs = 0;
    const released: Array<[number, number]> = [];
    let flushes = 0;
    const line = new DelayLine(25_000, (id) => released.push([id, nowUs]), () => flushes++, () => nowUs);
    const step = (ms: number): void => {
      for (let i = 0; i < ms; i++) {
        nowUs += 1000;
        vi.advanceTimersByTime(1);
      }
    };
    line.push(1, 0);
    line.push(2, 0);
    step(3);
    line.push(3, 3000);
    step(40);
    expect(released.map((r) => r[0])).toEqual([1, 2, 3]);
    // released within [hold - 0.5 ms, hold + 1 ms]
    expect(released[0]?.[1]).toBeGreaterThanOrEqual(24_500);
    expect(released[0]?.[1]).toBeLessThanOrEqual(26_000);
    expect(released[2]?.[1]).toBeGreaterThanOrEqual(27_500);
    expect(released[2]?.[1]).toBeLessThanOrEqual(29_000);
    expect(flushes).toBe(2); // 1 and 2 together, then 3
    expect(line.depth).toBe(0);
    // a late-stamped arrival never overtakes
    line.push(4, nowUs);
    line.push(5, nowUs - 10_000);
    line.drain();
    expect(released.map((r) => r[0])).toEqual([1, 2, 3, 4, 5]);
  });

  it('rules match forwarded lab traffic per direction with bypass', () => {
    const a = parseRelayArgs(['--down-dev', 'pwsrv', '--up-dev', 'pwap', '--subnet', '10.9.0.0/16', '--down-ms', '20']);
    expect(a.upMs).toBe(25);
    expect(ruleArgs(a, 'down')).toEqual([
      'FORWARD', '-i', 'pwsrv', '-s', '10.9.0.0/16', '-d', '10.9.0.0/16', '-j', 'NFQUEUE', '--queue-num', '101', '--queue-bypass',
    ]);
    expect(ruleArgs(a, 'up')[2]).toBe('pwap');
    expect(() => parseRelayArgs(['--up-dev', 'x'])).toThrow(/missing/);
  });

  it('endpoint mode holds the client interface: INPUT for the downlink, OUTPUT for the uplink', () => {
    const a = parseRelayArgs(['--mode', 'endpoint', '--down-dev', 'pcli', '--up-dev', 'pcli', '--subnet', '10.9.0.0/16', '--queue-down', '103', '--queue-up', '104']);
    expect(ruleArgs(a, 'down')).toEqual([
      'INPUT', '-i', 'pcli', '-s', '10.9.0.0/16', '-d', '10.9.0.0/16', '-j', 'NFQUEUE', '--queue-num', '103', '--queue-bypass',
    ]);
    expect(ruleArgs(a, 'up').slice(0, 3)).toEqual(['OUTPUT', '-o', 'pcli']);
    expect(ruleArgs(a, 'up')[10]).toBe('104');
    expect(() => parseRelayArgs(['--mode', 'tunnel', '--down-dev', 'a', '--up-dev', 'b', '--subnet', 's'])).toThrow(/forward or endpoint/);
  });
});
