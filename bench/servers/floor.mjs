// The floor of a cookie-session server on SQLite: bare Fastify (as the ceiling), one
// prepared better-sqlite3 read of the session by the id in the cookie, a SHA-256 of the
// secret compared in constant time, the expiry checks, and the JSON of `GET /auth/me`
// (floor-common.mjs); `GET /api/todos` adds the one read of the user's to-dos. Nothing
// else: no hooks, no CSRF token, no security headers, no logger, no response schema.
// It reads the database a latchkey server wrote (DATABASE_FILE), with the cookie it set.
import SQLite from "better-sqlite3";
import Fastify from "fastify";
import {
  isLive,
  iso,
  meAnswer,
  sessionCookie,
  sessionLookupSql,
  todoListSql,
  unauthenticated,
  userIdOf,
} from "./floor-common.mjs";

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

const app = Fastify({ logger: false });
app.get("/auth/me", async (request, reply) => {
  const row = sessionRow(request);
  return row ? meAnswer(row) : unauthenticated(reply);
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
