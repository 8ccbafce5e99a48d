// A Hono app on @hono/node-server with its own error handler and webhook.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { latchkeyHono } from "latchkey/hono";
import { announce, core, ORIGIN, strategy } from "./common.mjs";

const { auth } = await core();
const lk = latchkeyHono({ auth, publicOrigin: ORIGIN, strategy, prefix: process.env.PREFIX ?? "" });
const app = new Hono();
app.use(async (c, next) => {
  await next();
  c.header("x-host-hook", "1");
});
app.use(lk.routes);
app.post("/webhooks/payment", (c) => c.json({ received: true }));
app.get("/boom", () => {
  throw new Error("host boom");
});
app.get("/api/whoami", lk.requireAuth, (c) => c.json({ user: c.var.auth.userId, via: c.var.auth.via }));
app.post("/api/notes", lk.requireAuth, (c) => c.json({ saved: c.var.auth.userId }));
app.onError((error, c) => c.json({ host: "error", message: error.message }, 500, { "x-host-handler": "1" }));
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => announce(server));
