// The floor of a node:http server on SQLite: floor.mjs's one prepared read, SHA-256 check
// and `GET /auth/me` answer (floor-common.mjs), written straight to the response (no
// Request/Response objects: those are the fetch adapter's cost, which this floor leaves out).
import { createServer } from "node:http";
import SQLite from "better-sqlite3";
import { announce, PORT, UNAUTHENTICATED } from "./adapter-common.mjs";
import { isLive, meAnswer, sessionCookie, sessionLookupSql } from "./floor-common.mjs";

const database = new SQLite(process.env.DATABASE_FILE, { fileMustExist: true });
database.pragma("journal_mode = WAL");
const lookup = database.prepare(sessionLookupSql("?")).raw(true);
const json = { "content-type": "application/json; charset=utf-8" };

const server = createServer((req, res) => {
  if (req.method !== "GET" || req.url !== "/auth/me") return void res.writeHead(404).end();
  const cookie = sessionCookie(req);
  const row = cookie ? lookup.get(cookie.id) : undefined;
  if (cookie && isLive(row, cookie.secret)) res.writeHead(200, json).end(JSON.stringify(meAnswer(row)));
  else res.writeHead(401, json).end(JSON.stringify(UNAUTHENTICATED));
});
server.listen(PORT, "127.0.0.1", () => announce(server));
