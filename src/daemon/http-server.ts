/**
 * The daemon's small HTTP endpoint (node:http, no framework), bound to `metrics.listen`
 * (127.0.0.1:9469 by default):
 *
 *   GET /metrics  Prometheus exposition of the daemon's registry (its own content type)
 *   GET /status   JSON snapshot from the provider given at construction (`zhuge status` reads it)
 *   GET /healthz  200 "ok" while the provider says healthy, 503 with the reason otherwise
 *
 * GET and HEAD only (405 otherwise), 404 for other paths. Responses are never cached. A
 * provider that throws gives a 500 with a JSON error, never a crash. Bind errors are turned
 * into messages naming the address (EADDRINUSE, EADDRNOTAVAIL, EACCES).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseListen } from '../config/index.js';
import type { FlowStatus } from '../engine/flow-status.js';

/** One flow in /status: the engine's FlowStatus, served as is. */
export type { FlowStatus };

/** One observed queue (per interface for the `qdisc` backend). */
export interface QueueStatus {
  name: string;
  /** false: the interface's qdisc holds no queue the backend can see (noqueue), predictions stay near 0 */
  visible?: boolean;
  backlogBytes: number;
  rateBps: number;
  predictedDelayMs: number;
  /** queue.rateFrom 'shaper': the shaper's rate last read (bit/s; 0: none), and why none could be */
  shaperRateBps?: number;
  shaperProblem?: string;
}

/** What /status serves. Extra fields are allowed; `zhuge status` ignores what it does not know. */
export interface StatusSnapshot {
  version: string;
  uptimeS: number;
  backend: string;
  flows: FlowStatus[];
  queues: QueueStatus[];
  heldPackets: number;
  [extra: string]: unknown;
}

export interface HealthReport {
  healthy: boolean;
  reason?: string;
}

export interface HttpServerOptions {
  /** HOST:PORT or [v6]:PORT; port 0 picks a free one (tests). */
  listen: string;
  /** Serves /metrics. */
  metrics: { contentType: string; scrape(): Promise<string> };
  /** Serves /status; called per request (keep it cheap). */
  status: () => StatusSnapshot | Promise<StatusSnapshot>;
  /** Serves /healthz; default: always healthy while the process answers. */
  health?: () => HealthReport;
  logger?: Logger;
}

export class HttpServer {
  private server: Server | undefined;
  private bound: { address: string; port: number } | undefined;

  constructor(private readonly opts: HttpServerOptions) {}

  /** The bound address (after start()); `port` is the real one when 0 was asked for. */
  get address(): { address: string; port: number } | undefined {
    return this.bound;
  }

  /** Resolves once listening; rejects with a message naming the address on a bind error. */
  start(): Promise<{ address: string; port: number }> {
    if (this.server !== undefined) return Promise.reject(new Error('http server already started'));
    const parsed = parseListen(this.opts.listen);
    if (parsed === undefined) return Promise.reject(new Error(`metrics.listen: not a HOST:PORT address: ${JSON.stringify(this.opts.listen)}`));
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server = undefined;
        reject(new Error(bindErrorMessage(this.opts.listen, err), { cause: err }));
      };
      server.once('error', onError);
      server.listen({ host: parsed.host, port: parsed.port, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.opts.logger?.error({ err }, 'http server error'));
        const a = server.address() as AddressInfo;
        this.bound = { address: a.address, port: a.port };
        this.opts.logger?.info({ address: a.address, port: a.port }, 'serving /metrics, /status, /healthz');
        resolve(this.bound);
      });
    });
  }

  /** Stops accepting, closes idle and active connections; resolves when closed. */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.bound = undefined;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics': {
        const body = await this.opts.metrics.scrape();
        send(req, res, 200, this.opts.metrics.contentType, body);
        return;
      }
      case '/status': {
        const snap = await this.opts.status();
        send(req, res, 200, 'application/json; charset=utf-8', `${JSON.stringify(snap)}\n`);
        return;
      }
      case '/healthz': {
        const h = this.opts.health?.() ?? { healthy: true };
        if (h.healthy) send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
        else send(req, res, 503, 'text/plain; charset=utf-8', `unhealthy: ${h.reason ?? 'unknown'}\n`);
        return;
      }
      case '/':
        send(req, res, 200, 'text/plain; charset=utf-8', 'zhuge: /metrics /status /healthz\n');
        return;
      default:
        send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.opts.logger?.error({ err }, 'http handler failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(`${JSON.stringify({ error: message })}\n`);
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A bind error as an operator-facing message naming the address. */
export function bindErrorMessage(listen: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${listen}: address already in use (another zhuge or exporter running? change metrics.listen)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${listen}: no local interface has this address (check metrics.listen)`;
    case 'EACCES':
      return `cannot listen on ${listen}: permission denied (ports below 1024 need privileges)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${listen}: host name does not resolve`;
    default:
      return `cannot listen on ${listen}: ${err.message}`;
  }
}
