/**
 * `latchkey/fastify`: the Fastify plugin. It answers latchkey's routes, decorates
 * `fastify.requireAuth`, `fastify.optionalAuth`, `fastify.requireAuthWith` and
 * `request.auth`, and touches nothing else of the app.
 *
 * @example
 * import Fastify from "fastify";
 * import { latchkey } from "latchkey/fastify";
 *
 * const app = Fastify();
 * await app.register(latchkey, { auth, publicOrigin: "https://app.example", prefix: "/api" });
 * app.get("/api/profile", { preHandler: app.requireAuth }, async (request) => ({ user: request.auth?.userId }));
 */
export { handleError, type LatchkeyPluginOptions, latchkey, useStrictJson } from "./adapters/fastify.js";
export type { RefusalOptions } from "./http/refusal.js";
