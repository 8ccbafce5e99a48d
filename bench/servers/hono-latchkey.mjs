// A Hono host app on @hono/node-server mounting latchkey through `latchkey/hono` (its
// routes, so `GET /auth/me` among them), cookie sessions on SQLite (DATABASE_FILE), as
// test/package/apps/hono.mjs mounts it.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { latchkeyHono } from "latchkey/hono";
import { announce, core, ORIGIN, PORT } from "./adapter-common.mjs";

const { auth } = await core();
const latchkey = latchkeyHono({ auth, publicOrigin: ORIGIN, strategy: "session" });
const app = new Hono();
app.use(latchkey.routes);
const server = serve({ fetch: app.fetch, port: PORT, hostname: "127.0.0.1" }, () => announce(server));
