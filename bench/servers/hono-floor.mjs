// The floor of a Hono host app (on @hono/node-server) on SQLite: floor.mjs's one prepared
// read, SHA-256 check and `GET /auth/me` answer (floor-common.mjs) inside a bare Hono app.
import { serve } from "@hono/node-server";
import SQLite from "better-sqlite3";
import { Hono } from "hono";
import { announce, PORT, UNAUTHENTICATED } from "./adapter-common.mjs";
import { isLive, meAnswer, sessionCookie, sessionLookupSql } from "./floor-common.mjs";

const database = new SQLite(process.env.DATABASE_FILE, { fileMustExist: true });
database.pragma("journal_mode = WAL");
const lookup = database.prepare(sessionLookupSql("?")).raw(true);

const app = new Hono();
app.get("/auth/me", (c) => {
  const cookie = sessionCookie({ headers: { cookie: c.req.header("cookie") } });
  const row = cookie ? lookup.get(cookie.id) : undefined;
  return cookie && isLive(row, cookie.secret) ? c.json(meAnswer(row)) : c.json(UNAUTHENTICATED, 401);
});
const server = serve({ fetch: app.fetch, port: PORT, hostname: "127.0.0.1" }, () => announce(server));
