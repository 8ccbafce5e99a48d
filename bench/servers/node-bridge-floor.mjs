// A bound for any fetch-style handler on node:http: node-floor.mjs's one prepared read,
// SHA-256 check and `GET /auth/me` answer (floor-common.mjs), written as a handler of
// Request and Response served through latchkey/fetch's `toNodeHandler`, as
// node-latchkey.mjs serves latchkey. What the Request and Response objects and the bridge
// cost, with nothing of latchkey's: latchkey/fetch on node:http cannot go above it.
import { createServer } from "node:http";
import SQLite from "better-sqlite3";
import { toNodeHandler } from "latchkey/fetch";
import { announce, PORT, UNAUTHENTICATED } from "./adapter-common.mjs";
import { isLive, meAnswer, sessionCookie, sessionLookupSql } from "./floor-common.mjs";

const database = new SQLite(process.env.DATABASE_FILE, { fileMustExist: true });
database.pragma("journal_mode = WAL");
const lookup = database.prepare(sessionLookupSql("?")).raw(true);
const json = { "content-type": "application/json; charset=utf-8" };

const server = createServer(
  toNodeHandler((request) => {
    if (request.method !== "GET" || new URL(request.url).pathname !== "/auth/me") {
      return new Response(null, { status: 404 });
    }
    const cookie = sessionCookie({ headers: { cookie: request.headers.get("cookie") ?? undefined } });
    const row = cookie ? lookup.get(cookie.id) : undefined;
    return cookie && isLive(row, cookie.secret)
      ? new Response(JSON.stringify(meAnswer(row)), { status: 200, headers: json })
      : new Response(JSON.stringify(UNAUTHENTICATED), { status: 401, headers: json });
  }),
);
server.listen(PORT, "127.0.0.1", () => announce(server));
