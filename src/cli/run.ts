/**
 * `zhuge run [--config FILE]` — the daemon.
 *
 * Signals: SIGTERM / SIGINT release held packets, remove the rules, flush logs and exit 0;
 * SIGHUP reloads the configuration (an invalid new one keeps the running one and says why).
 * Exit codes: 0 stopped cleanly · 1 runtime failure · 2 usage · 3 invalid configuration ·
 * 4 not root / a system dependency is missing · 5 another zhuge owns the chain (left untouched).
 */
import { parseCommand } from './args.js';
import { privilegeProblem } from '../daemon/capabilities.js';
import { ConfigError, configWarnings, DEFAULT_CONFIG_PATH, loadConfig, tryLoadConfig, type Config } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { HttpServer } from '../daemon/http-server.js';
import { acquireInstanceLock, type InstanceLock } from '../daemon/instance-lock.js';
import { parseOomScoreAdj, setOomScoreAdj } from '../daemon/oom-score.js';
import { childLogger, createLogger, flushLogger, installExitFlush } from '../daemon/logger.js';
import { nfqueueAvailable } from '../daemon/nfqueue.js';

const USAGE = `usage: zhuge run [--config FILE] [--instance ID] [--oom-score-adj N] [--prediction-log FILE]

  --config FILE       configuration (default ${DEFAULT_CONFIG_PATH})
  --instance ID       suffix for the iptables chain, so several daemons never collide (tests)
  --oom-score-adj N   this process's OOM score adjustment, -1000..1000 (for supervisors without
                      one, e.g. OpenWrt's procd; lowering it needs CAP_SYS_RESOURCE)
  --prediction-log FILE  every downlink packet's prediction, a line each (test beds: joined with
                      their ground truth by match key; not for a router in service)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('run', USAGE, argv, {
    config: { type: 'string', short: 'c', default: DEFAULT_CONFIG_PATH },
    instance: { type: 'string' },
    'oom-score-adj': { type: 'string' },
    'prediction-log': { type: 'string' },
  });
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const path = values.config;
  const oomText = values['oom-score-adj'];
  const oomScoreAdj = oomText !== undefined ? parseOomScoreAdj(oomText) : undefined;
  if (oomText !== undefined && oomScoreAdj === undefined) {
    console.error(`zhuge run: --oom-score-adj must be an integer from -1000 to 1000, got '${oomText}'\n${USAGE}`);
    return 2;
  }
  let cfg: Config;
  try {
    cfg = loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 3;
    }
    throw err;
  }
  const priv = privilegeProblem();
  if (priv !== undefined) {
    console.error(`zhuge run: ${priv}`);
    return 4;
  }
  const nfq = nfqueueAvailable();
  if (!nfq.ok) {
    console.error(`zhuge run: NFQUEUE binding unavailable: ${nfq.reason}`);
    return 4;
  }

  // one daemon per chain and network namespace: a second one must not touch the first's rules
  let lock: InstanceLock;
  try {
    lock = await acquireInstanceLock(cfg.nfqueue.chain);
  } catch (err) {
    console.error(`zhuge run: ${err instanceof Error ? err.message : String(err)}`);
    return 5;
  }

  const root = createLogger(cfg.log.level, cfg.log.stderrLevel !== 'none' ? { stderrLevel: cfg.log.stderrLevel } : {});
  installExitFlush(root);
  const log = childLogger(root, 'main');
  for (const w of configWarnings(cfg)) log.warn(w);
  if (oomScoreAdj !== undefined) {
    // before the watchdog is spawned: it inherits the value
    const why = setOomScoreAdj(oomScoreAdj);
    if (why === undefined) log.info({ oomScoreAdj }, 'OOM score adjusted');
    else log.warn({ oomScoreAdj }, `OOM score left as it was: ${why}`);
  }
  let daemon: Daemon;
  try {
    daemon = new Daemon(cfg, root, {
      ...(values.instance !== undefined ? { instanceId: values.instance } : {}),
      ...(values['prediction-log'] !== undefined ? { predictionLog: values['prediction-log'] } : {}),
    });
  } catch (err) {
    // what the configuration asks cannot be set up here (e.g. a bridged AP without br_netfilter)
    console.error(`zhuge run: ${err instanceof Error ? err.message : String(err)}`);
    return 3;
  }
  const http = new HttpServer({
    listen: cfg.metrics.listen,
    metrics: daemon.metrics,
    status: () => daemon.status(),
    health: () => {
      const h = daemon.health();
      return h.healthy ? { healthy: true } : { healthy: false, reason: h.findings.map((f) => f.reason).join('; ') };
    },
    logger: childLogger(root, 'http'),
  });

  let stopping: Promise<number> | undefined;
  const stop = (signal: string, code: number): Promise<number> => {
    stopping ??= (async () => {
      log.info({ signal }, 'stopping');
      await daemon.stop();
      await http.stop().catch(() => undefined);
      await lock.release();
      await flushLogger(root);
      return code;
    })();
    return stopping;
  };

  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));
  process.on('SIGTERM', () => void stop('SIGTERM', 0).then(done));
  process.on('SIGINT', () => void stop('SIGINT', 0).then(done));
  process.on('SIGHUP', () => {
    const r = tryLoadConfig(path);
    if (!r.ok) {
      daemon.metrics.configReloads.inc({ result: 'error' });
      log.error({ problems: r.error.problems }, `reload refused, keeping the running configuration:\n${r.error.message}`);
      return;
    }
    daemon
      .reload(r.config)
      .then((res) => (res.ok ? log.info(res.message) : log.error(res.message)))
      .catch((err: unknown) => log.error({ err: String(err) }, 'reload failed'));
  });
  // an I/O source stopped for good (io-health.ts): fail open and let the supervisor restart zhuge
  daemon.onFatal = (reason) => void stop(`fatal: ${reason}`, 1).then(done);
  process.on('uncaughtException', (err) => {
    log.fatal({ err: String(err), stack: err.stack }, 'uncaught exception: stopping (the watchdog keeps traffic flowing)');
    void stop('uncaughtException', 1).then(done);
  });

  try {
    await http.start();
    await daemon.start();
  } catch (err) {
    log.error({ err: String(err) }, 'start failed');
    await stop('start-failure', 1);
    setTimeout(() => process.exit(1), 100).unref();
    return 1;
  }
  const code = await finished;
  // Everything is released and the logs are flushed; a native handle (a capture or netlink
  // socket of a binding) must not keep a stopped daemon alive.
  setTimeout(() => process.exit(code), 100).unref();
  return code;
}
