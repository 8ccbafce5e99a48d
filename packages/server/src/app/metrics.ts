/**
 * Prometheus metrics (prom-client), on a listener of their own (`METRICS_PORT`, off by
 * default), never on the public origin: an operator scrapes them from inside the network.
 *
 * No label carries who: routes are the registered patterns (`/auth/sessions/:id`, never
 * an id), security events and statuses come from fixed lists. A username, a user or
 * session id, an address or a token never becomes a label, so the scrape text cannot leak
 * one (test/cli/metrics.test.ts checks it after a workload).
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { FastifyInstance } from "fastify";
import { createMetrics as createLatchkeyMetrics, type LatchkeyMetrics } from "latchkey/metrics";
import { Counter, Histogram, type Registry } from "prom-client";

/** What `createMetrics` sets up: the library's metrics (`latchkey/metrics`) and the server's own. */
export interface Metrics extends LatchkeyMetrics {
  /** Request counts and latencies, by route pattern, method and status. */
  instrument(app: FastifyInstance): void;
}

/**
 * @example
 * const metrics = createMetrics();
 * metrics.instrument(app);
 * const text = await metrics.registry.metrics();
 */
export function createMetrics(): Metrics {
  const library = createLatchkeyMetrics();
  const { registry } = library;
  const requests = new Counter({
    name: "latchkey_http_requests_total",
    help: "HTTP requests answered, by route pattern, method and status.",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "latchkey_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by route pattern and method.",
    labelNames: ["route", "method"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    ...library,
    instrument(app) {
      app.addHook("onResponse", (request, reply, done) => {
        // The registered pattern, never the path itself (ids, typos): bounded labels.
        const route = request.routeOptions.url ?? "unmatched";
        const method = request.method;
        requests.inc({ route, method, status: String(reply.statusCode) });
        duration.observe({ route, method }, reply.elapsedTime / 1000);
        done();
      });
    },
  };
}

/**
 * Serves `registry` at `GET /metrics` on `host:port`, alone on its listener.
 * @example
 * const listener = await serveMetrics(metrics.registry, 9464, "127.0.0.1");
 */
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<HttpServer> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      () => response.writeHead(503, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
