/**
 * `latchkey serve` (what `npm start` runs): start the server; on SIGTERM or SIGINT stop
 * accepting, finish the requests in flight, close the stores and exit 0 (keep-alive
 * connections are closed once idle, never waited on: see app/drain.ts).
 *
 * The server (Fastify, its plugins, the web app) is imported here, when `serve` runs: the
 * administration commands never load it, so they work wherever latchkey's stores do.
 */
import type { Command } from "commander";
import { loadConfig } from "../app/config.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("start the server (configured by environment variables; see the README)")
    .action(async () => {
      const config = loadConfig(process.env);
      const { buildServer } = await import("../app/server.js");
      const server = await buildServer({ config });
      const { app } = server;
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        app.log.info({ signal }, "stopping: finishing requests in flight");
        try {
          await server.close();
          process.exit(0);
        } catch (error) {
          app.log.error({ err: error }, "error while stopping");
          process.exit(1);
        }
      };
      process.once("SIGTERM", () => void stop("SIGTERM"));
      process.once("SIGINT", () => void stop("SIGINT"));
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      app.log.info({ port, host: config.host }, `latchkey listening on http://${config.host}:${port}`);
    });
}
