// An Express 5 app with its own JSON parser, error handler and webhook.
import express from "express";
import { latchkeyExpress } from "latchkey/express";
import { announce, core, ORIGIN, strategy } from "./common.mjs";

const { auth } = await core();
const app = express();
const lk = latchkeyExpress({ auth, publicOrigin: ORIGIN, strategy, prefix: process.env.PREFIX ?? "" });
app.use((_req, res, next) => {
  res.setHeader("x-host-hook", "1");
  next();
});
// latchkey's routes first: they read their own bodies, with the contract's rules.
app.use(lk.routes);
app.use(express.json());
app.post("/webhooks/payment", (_req, res) => res.json({ received: true }));
app.get("/boom", () => {
  throw new Error("host boom");
});
app.get("/api/whoami", lk.requireAuth, (req, res) => res.json({ user: req.auth?.userId, via: req.auth?.via }));
app.post("/api/notes", lk.requireAuth, (req, res) => res.json({ saved: req.auth?.userId }));
app.use((error, _req, res, _next) => {
  res.status(500).set("x-host-handler", "1").json({ host: "error", message: error.message });
});
const server = app.listen(0, "127.0.0.1", () => announce(server));
