/**
 * The engine with fortuneTeller.discipline 'fq' (queue.discipline in the config): each flow is
 * predicted from its own queue, and a reload that changes the discipline restarts the Fortune Teller.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { defaultFortuneTellerConfig } from '../../src/fortune-teller/index.js';
import { TCP_ACK } from '../../src/protocols/tcp.js';
import { engineOptions } from '../helpers/engine.js';
import { tcpPacket } from '../helpers/packets.js';

const SRV = { addr: '10.1.0.1', port: 5201 };
const BULK = { addr: '10.1.0.1', port: 6000 };
const CLI = { addr: '10.2.0.1', port: 40000 };

/** 100 packets of an untreated bulk flow queued, then one packet of the treated flow: its prediction. */
function treatedPrediction(discipline: 'fifo' | 'fq'): number {
  const e = new Engine(engineOptions({ tcp: { enabled: true, ports: [SRV.port] }, fortuneTeller: { ...defaultFortuneTellerConfig, discipline, initialRateBps: 10e6, minRateBps: 10e6 } }));
  for (let i = 0; i < 100; i++) {
    const p = tcpPacket(BULK, CLI, { flags: TCP_ACK, payloadBytes: 1200, seq: 1 + i * 1200 });
    e.onDownlinkArrival(i, p, 'raw-ip', p.length);
  }
  const d = tcpPacket(SRV, { ...CLI, port: 40001 }, { flags: TCP_ACK, payloadBytes: 1200 });
  e.onDownlinkArrival(200, d, 'raw-ip', d.length);
  const flows = [...e.flows.entries()].map(([, f]) => f);
  expect(flows).toHaveLength(1); // the bulk flow is not treated
  return flows[0]?.lastTotalMs ?? NaN;
}

describe('Engine, fortuneTeller.discipline fq', () => {
  it('the treated flow is predicted from its own queue, not from the bulk flow\'s bytes', () => {
    const fifo = treatedPrediction('fifo');
    const fq = treatedPrediction('fq');
    // 120 kB ahead at 10 Mbit/s in a FIFO: ~100 ms; its own 1.2 kB at half the rate in fq: ~2 ms
    expect(fifo).toBeGreaterThan(80);
    expect(fq).toBeLessThan(5);
  });

  it('a reload that changes the Fortune Teller\'s constants restarts it; one that does not keeps it', () => {
    const opts = engineOptions();
    const e = new Engine(opts);
    const p = tcpPacket(SRV, CLI, { flags: TCP_ACK, payloadBytes: 1000 });
    e.onDownlinkArrival(0, p, 'raw-ip', p.length);
    const before = e.ft;
    e.reconfigure(engineOptions({ maxFlows: 10 }));
    expect(e.ft).toBe(before);
    expect(e.ft.queue.bytesInQueue).toBeGreaterThan(0);
    e.reconfigure(engineOptions({ fortuneTeller: { ...defaultFortuneTellerConfig, discipline: 'fq' } }));
    expect(e.ft).not.toBe(before);
    expect(e.ft.config.discipline).toBe('fq');
    expect(e.ft.queue.bytesInQueue).toBe(0);
  });
});
