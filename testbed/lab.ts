/**
 * The lifecycle the demos and the evaluation share: build a testbed, start the base-RTT relay in
 * wan, run the body, and always stop the relay and tear the testbed down — also on SIGINT /
 * SIGTERM (exit 130 after the cleanup).
 */
import { startRelay, type RelayHandle } from './relay.js';
import { up, type Testbed, type TestbedOptions } from './topology.js';

export interface LabOptions extends TestbedOptions {
  /** one-way base delay of the relay in each direction, ms (0 = no relay) */
  baseDelayMsEachWay: number;
  /** one-way latency of the Wi-Fi hop (a relay on the client's interface, ms; 0 or absent = none) */
  wifiHopMsEachWay?: number;
}

export async function withLab<T>(o: LabOptions, body: (tb: Testbed) => Promise<T>): Promise<T> {
  let tb: Testbed | undefined;
  let relay: RelayHandle | undefined;
  let hop: RelayHandle | undefined;
  const cleanup = async (): Promise<void> => {
    await hop?.stop().catch(() => undefined);
    hop = undefined;
    await relay?.stop().catch(() => undefined);
    relay = undefined;
    await tb?.down().catch(() => undefined);
    tb = undefined;
  };
  const onSignal = (): void => {
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { baseDelayMsEachWay, wifiHopMsEachWay, ...tbo } = o;
    tb = await up(tbo);
    if (baseDelayMsEachWay > 0) relay = await startRelay(tb, { downMs: baseDelayMsEachWay });
    if ((wifiHopMsEachWay ?? 0) > 0) hop = await startRelay(tb, { downMs: wifiHopMsEachWay ?? 0, at: 'cli' });
    return await body(tb);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

