// The floor of a cookie-session server on SQLite: bare Fastify (as the ceiling), one
// prepared better-sqlite3 read of the session by the id in the cookie, a SHA-256 of the
// secret compared in constant time, the expiry checks, and the JSON of `GET /auth/me`
// (floor-common.mjs); `GET /api/todos` adds the one read of the user's to-dos. Nothing
// else: no hooks, no CSRF token, no security headers, no logger, no response schema.
// It reads the database a latchkey server wrote (DATABASE_FILE), with the cookie it set.
//
// LATCHKEY_IO=1 makes it the floor with latchkey's I/O: what the contract and the security
// checklist add to every answer, as bench/servers/ceiling-io.mjs adds it to the ceiling:
// `Cache-Control: no-store` on `/auth/*`, the three security headers of a JSON answer, and
// `/auth/me`'s `csrfToken` (latchkey's own `CsrfTokens`, under the key its server stored).
import SQLite from "better-sqlite3";
import Fastify from "fastify";
import { CsrfTokens } from "../../packages/latchkey/dist/core/csrf.js";
import {
  isLive,
  iso,
  meAnswer,
  sessionCookie,
  sessionIdOf,
  sessionLookupSql,
  todoListSql,
  unauthenticated,
  userIdOf,
} from "./floor-common.mjs";
import { addLatchkeyIoHeaders } from "./io-headers.mjs";

const database = new SQLite(process.env.DATABASE_FILE, { fileMustExist: true });
database.pragma("journal_mode = WAL");
const lookup = database.prepare(sessionLookupSql("?")).raw(true);
const todoList = database.prepare(todoListSql("?")).raw(true);

/** The session row of the request's cookie, or undefined when it is not a live session. */
function sessionRow(request) {
  const cookie = sessionCookie(request);
  const row = cookie ? lookup.get(cookie.id) : undefined;
  return cookie && isLive(row, cookie.secret) ? row : undefined;
}

const io = process.env.LATCHKEY_IO === "1";
// latchkey's own CSRF tokens, under the key its server stored in this database.
const secrets = {
  getOrCreate: async (name) => database.prepare("select value from secrets where name = ?").pluck().get(name),
};
const csrf = io ? await CsrfTokens.load(secrets) : null;

const app = Fastify({ logger: false });
if (io) addLatchkeyIoHeaders(app);
app.get("/auth/me", async (request, reply) => {
  const row = sessionRow(request);
  if (!row) return unauthenticated(reply);
  const answer = meAnswer(row);
  if (csrf) answer.csrfToken = csrf.tokenFor(sessionIdOf(row));
  return answer;
});
app.get("/api/todos", async (request, reply) => {
  const row = sessionRow(request);
  if (!row) return unauthenticated(reply);
  return {
    todos: todoList.all(userIdOf(row)).map((t) => ({
      id: t[0],
      title: t[1],
      done: t[2] === 1,
      createdAt: iso(t[3]),
      updatedAt: iso(t[4]),
    })),
  };
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(JSON.stringify({ port: app.server.address().port }));
