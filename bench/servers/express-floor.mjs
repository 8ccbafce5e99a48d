// The floor of an Express 5 host app on SQLite: what bench/servers/floor.mjs does on
// Fastify (one prepared better-sqlite3 read of the session, the SHA-256 check, the JSON of
// `GET /auth/me`: floor-common.mjs), inside a bare Express app.
import SQLite from "better-sqlite3";
import express from "express";
import { announce, PORT, UNAUTHENTICATED } from "./adapter-common.mjs";
import { isLive, meAnswer, sessionCookie, sessionLookupSql } from "./floor-common.mjs";

const database = new SQLite(process.env.DATABASE_FILE, { fileMustExist: true });
database.pragma("journal_mode = WAL");
const lookup = database.prepare(sessionLookupSql("?")).raw(true);

const app = express();
app.get("/auth/me", (req, res) => {
  const cookie = sessionCookie(req);
  const row = cookie ? lookup.get(cookie.id) : undefined;
  if (cookie && isLive(row, cookie.secret)) res.json(meAnswer(row));
  else res.status(401).json(UNAUTHENTICATED);
});
const server = app.listen(PORT, "127.0.0.1", () => announce(server));
