// Hono on @hono/node-server, bare: one JSON route.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { announce, HELLO, PORT } from "./adapter-common.mjs";

const app = new Hono();
app.get("/hello", (c) => c.json(HELLO));
const server = serve({ fetch: app.fetch, port: PORT, hostname: "127.0.0.1" }, () => announce(server));
