// An Express 5 app as most are written: its JSON parser, its error handler, a webhook,
// a page that sends strangers to sign in, and a greeting for anyone. ORDER=parser-first
// mounts express.json() before latchkey (the common mistake); MOUNT mounts latchkey's
// routes under a path (`app.use("/v1", latchkey.routes)`), PREFIX tells latchkey of it.
import express from "express";
import { latchkeyExpress } from "latchkey/express";
import { announce, core, ORIGIN, prefix, strategy } from "./common.mjs";

const { auth } = await core();
const app = express();
const latchkey = latchkeyExpress({ auth, publicOrigin: ORIGIN, strategy, prefix });
app.use((_req, res, next) => {
  res.setHeader("x-host-hook", "1");
  next();
});
if (process.env.ORDER === "parser-first") app.use(express.json());
if (process.env.MOUNT) app.use(process.env.MOUNT, latchkey.routes);
else app.use(latchkey.routes);
if (process.env.ORDER !== "parser-first") app.use(express.json());

app.post("/webhooks/payment", (req, res) => res.json({ received: req.body !== undefined }));
app.get("/boom", () => {
  throw new Error("host boom");
});
app.get("/api/whoami", latchkey.requireAuth, (req, res) => res.json({ user: req.auth?.userId, via: req.auth?.via }));
app.post("/api/notes", latchkey.requireAuth, (req, res) => res.json({ saved: req.auth?.userId }));
app.get("/api/hello", latchkey.optionalAuth, (req, res) => res.json({ hello: req.auth?.userId ?? "guest" }));
app.get("/account", latchkey.requireAuthWith({ redirect: "/sign-in" }), (req, res) => res.send(`${req.auth?.userId}`));
app.use((error, _req, res, _next) => {
  console.error(`host error handler: ${error.message}`);
  res
    .status(error.statusCode ?? 500)
    .set("x-host-handler", "1")
    .json({ host: "error", code: error.code, message: error.message });
});
const server = app.listen(0, "127.0.0.1", () => announce(server));
