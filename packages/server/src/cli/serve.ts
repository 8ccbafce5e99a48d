/**
 * `latchkey serve` (what `npm start` runs): start the server; on SIGTERM or SIGINT answer
 * `/readyz` with 503, go on serving for `SHUTDOWN_DELAY` seconds (a second signal, a second
 * or more after the first, cuts it short), then stop accepting, finish the requests in flight, close the stores and exit 0
 * (keep-alive connections are closed once idle, never waited on: see app/drain.ts).
 *
 * The server (Fastify, its plugins, the web app) is imported here, when `serve` runs: the
 * administration commands never load it, so they work wherever latchkey's stores do.
 */
import type { Server as HttpServer } from "node:http";
import type { Command } from "commander";
import { loadConfig } from "../app/config.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("start the server (configured by environment variables; see the README)")
    .action(async () => {
      const config = loadConfig(process.env);
      const { buildServer } = await import("../app/server.js");
      const { serveMetrics } = await import("../app/metrics.js");
      const server = await buildServer({ config });
      const { app } = server;
      let metricsListener: HttpServer | undefined;
      let stopping = false;
      let closing = false;
      let firstSignalAt = 0;
      let cutShort = () => {};
      const stop = async (signal: string) => {
        // One stop can arrive twice: `npm start` hands its signal on, and a terminal's Ctrl-C
        // reaches every process of the group. A repeat within a second is that, not a request.
        if (stopping && performance.now() - firstSignalAt < 1000) return;
        if (closing) {
          // A signal while closing: stop waiting for requests in flight, as Node would.
          app.log.warn({ signal }, "stopped before the requests in flight finished");
          process.exit(1);
        }
        if (stopping) {
          // A second signal during the delay: close now.
          cutShort();
          return;
        }
        stopping = true;
        firstSignalAt = performance.now();
        // Not ready first, still serving: a balancer that polls /readyz takes the instance
        // out before it stops accepting connections.
        server.drain();
        if (config.shutdownDelay > 0) {
          app.log.info({ signal, seconds: config.shutdownDelay }, "stopping: draining before closing");
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, config.shutdownDelay * 1000);
            cutShort = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        closing = true;
        app.log.info({ signal }, "stopping: finishing requests in flight");
        try {
          metricsListener?.close();
          await server.close();
          process.exit(0);
        } catch (error) {
          app.log.error({ err: error }, "error while stopping");
          process.exit(1);
        }
      };
      process.on("SIGTERM", () => void stop("SIGTERM"));
      process.on("SIGINT", () => void stop("SIGINT"));
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      if (server.metrics) {
        try {
          metricsListener = await serveMetrics(server.metrics, config.metricsPort, config.metricsHost);
        } catch (error) {
          // A port taken, say: said loudly, and no server half up.
          app.log.error({ err: error }, `cannot serve metrics on ${config.metricsHost}:${config.metricsPort}`);
          await server.close().catch(() => {});
          process.exit(1);
        }
        app.log.info(
          { metricsPort: config.metricsPort, metricsHost: config.metricsHost },
          `metrics on http://${config.metricsHost}:${config.metricsPort}/metrics`,
        );
      }
      app.log.info({ port, host: config.host }, `latchkey listening on http://${config.host}:${port}`);
    });
}
