// The floor of a cookie-session server on SQLite: bare Fastify (as the ceiling), one
// prepared better-sqlite3 read of the session by the id in the cookie, a SHA-256 of the
// secret compared in constant time, the expiry checks, and the JSON shape of
// `GET /auth/me` (with the device description latchkey gives, through its own memoised
// function); `GET /api/todos` adds the one read of the user's to-dos. Nothing else:
// no hooks, no CSRF token, no security headers, no logger, no response schema.
// It reads the database a latchkey server wrote (DATABASE_FILE), with the cookie it set.
import { hash, timingSafeEqual } from "node:crypto";
import SQLite from "better-sqlite3";
import Fastify from "fastify";
// The device list's description of the User-Agent, as latchkey answers it (bowser, memoised).
import { describeDevice } from "../../dist/http/device.js";

const database = new SQLite(process.env.DATABASE_FILE, { fileMustExist: true });
database.pragma("journal_mode = WAL");
const lookup = database
  .prepare(
    `select s.id, s.secret_hash, s.kind, s.created_at, s.last_seen_at, s.expires_at, s.idle_expires_at, s.ip,
            s.user_agent, u.id, u.username, u.created_at, u.disabled_at
       from sessions s join users u on u.id = s.user_id where s.id = ?`,
  )
  .raw(true);
const todoList = database
  .prepare("select id, title, done, created_at, updated_at from todos where user_id = ? order by created_at, id")
  .raw(true);
const COOKIE = /(?:^|;\s*)__Host-sid=([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})(?:;|$)/;
// Times formatted once each (latchkey memoises them too: a session's and a list's times
// repeat on every request).
const isoCache = new Map();
const iso = (ms) => {
  let text = isoCache.get(ms);
  if (text === undefined) {
    if (isoCache.size >= 10_000) isoCache.clear();
    text = new Date(ms).toISOString();
    isoCache.set(ms, text);
  }
  return text;
};

/** The session row of the request's cookie, or undefined when it is not a live session. */
function sessionRow(request) {
  const match = COOKIE.exec(request.headers.cookie ?? "");
  const row = match ? lookup.get(match[1]) : undefined;
  const now = Date.now();
  const live =
    row !== undefined &&
    timingSafeEqual(Buffer.from(hash("sha256", match[2], "base64url")), Buffer.from(row[1])) &&
    now < row[5] &&
    now < row[6] &&
    row[12] === null;
  return live ? row : undefined;
}

const unauthenticated = (reply) => reply.code(401).send({ error: "unauthenticated", message: "Sign in to continue." });

const app = Fastify({ logger: false });
app.get("/auth/me", async (request, reply) => {
  const row = sessionRow(request);
  if (!row) return unauthenticated(reply);
  return {
    user: { id: row[9], username: row[10], createdAt: iso(row[11]) },
    session: {
      id: row[0],
      strategy: row[2],
      createdAt: iso(row[3]),
      lastSeenAt: iso(row[4]),
      expiresAt: iso(row[5]),
      idleExpiresAt: iso(row[6]),
      ip: row[7],
      userAgent: row[8],
      device: describeDevice(row[8]),
      current: true,
    },
  };
});
app.get("/api/todos", async (request, reply) => {
  const row = sessionRow(request);
  if (!row) return unauthenticated(reply);
  return {
    todos: todoList.all(row[9]).map((t) => ({
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
