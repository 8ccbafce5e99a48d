// A Fastify app with its usual plugins: @fastify/cors for a partner's scripts (registered
// first), latchkey under /api with CORS for the same partner, then @fastify/cookie for a
// preference cookie of its own; its own error handler, 404, hook and webhook.
import cookie from "@fastify/cookie";
import cors from "@fastify/cors";
import Fastify from "fastify";
import { latchkey } from "latchkey/fastify";
import { announce, core, ORIGIN, PARTNER, strategy } from "./common.mjs";

const { auth } = await core();
const app = Fastify();
await app.register(cors, { origin: [PARTNER] });
// The host's own error format; it honours an error's statusCode, as latchkey's errors carry one.
app.setErrorHandler((error, _request, reply) => {
  reply
    .code(error.statusCode ?? 500)
    .header("x-host-handler", "1")
    .send({ host: "error", code: error.code, message: error.message });
});
app.setNotFoundHandler((_request, reply) => reply.code(404).send({ host: "not found" }));
app.addHook("onRequest", async (_request, reply) => {
  reply.header("x-host-hook", "1");
});
await app.register(latchkey, { auth, publicOrigin: ORIGIN, strategy, prefix: "/api", corsOrigins: [PARTNER] });
await app.register(cookie);

app.post("/webhooks/payment", async () => ({ received: true }));
app.get("/boom", async () => {
  throw new Error("host boom");
});
app.get("/api/whoami", { preHandler: app.requireAuth }, async (request) => ({
  user: request.auth?.userId,
  via: request.auth?.via,
}));
app.post("/api/notes", { preHandler: app.requireAuth }, async (request) => ({ saved: request.auth?.userId }));
app.get("/api/partner/prices", async () => ({ prices: [] }));
app.get("/prefs", async (request, reply) => {
  reply.setCookie("theme", "dark", { path: "/", sameSite: "lax" });
  return { theme: request.cookies.theme ?? null };
});
await app.listen({ port: 0, host: "127.0.0.1" });
announce(app.server);
