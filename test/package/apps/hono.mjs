// A Hono app on @hono/node-server with its own error handler, webhook and greeting.
// BASE builds it with `basePath` (`new Hono().basePath("/v1")`); PREFIX tells latchkey of it.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { latchkeyHono } from "latchkey/hono";
import { announce, core, ORIGIN, prefix, strategy } from "./common.mjs";

const { auth } = await core();
const latchkey = latchkeyHono({ auth, publicOrigin: ORIGIN, strategy, prefix });
const app = process.env.BASE ? new Hono().basePath(process.env.BASE) : new Hono();
app.use(async (c, next) => {
  await next();
  c.header("x-host-hook", "1");
});
app.use(latchkey.routes);
app.post("/webhooks/payment", async (c) => c.json({ received: (await c.req.json()) !== undefined }));
app.get("/boom", () => {
  throw new Error("host boom");
});
app.get("/api/whoami", latchkey.requireAuth, (c) => c.json({ user: c.var.auth.userId, via: c.var.auth.via }));
app.post("/api/notes", latchkey.requireAuth, (c) => c.json({ saved: c.var.auth.userId }));
app.get("/api/hello", latchkey.optionalAuth, (c) => c.json({ hello: c.var.auth?.userId ?? "guest" }));
app.notFound((c) => c.json({ host: "not found" }, 404));
app.onError((error, c) => {
  console.error(`host error handler: ${error.message}`);
  return c.json({ host: "error", message: error.message }, 500, { "x-host-handler": "1" });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => announce(server));
