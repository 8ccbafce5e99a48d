// A Fastify app with its own error handler, a hook, a cross-origin webhook, and latchkey
// under a prefix.
import Fastify from "fastify";
import { latchkey } from "latchkey/fastify";
import { announce, core, ORIGIN, strategy } from "./common.mjs";

const { auth } = await core();
const app = Fastify();
// The host's own error format; it honours an error's statusCode, as latchkey's errors carry one.
app.setErrorHandler((error, _request, reply) => {
  reply
    .code(error.statusCode ?? 500)
    .header("x-host-handler", "1")
    .send({ host: "error", code: error.code, message: error.message });
});
app.addHook("onRequest", async (_request, reply) => {
  reply.header("x-host-hook", "1");
});
await app.register(latchkey, { auth, publicOrigin: ORIGIN, strategy, prefix: "/api" });
app.post("/webhooks/payment", async () => ({ received: true }));
app.get("/boom", async () => {
  throw new Error("host boom");
});
app.get("/api/whoami", { preHandler: app.requireAuth }, async (request) => ({
  user: request.auth?.userId,
  via: request.auth?.via,
}));
app.post("/api/notes", { preHandler: app.requireAuth }, async (request) => ({ saved: request.auth?.userId }));
await app.listen({ port: 0, host: "127.0.0.1" });
announce(app.server);
