// The floor of a cookie-session server on PostgreSQL: bare Fastify, one named prepared
// statement (array rows) through a pool of ten connections, as latchkey's session lookup
// on PostgreSQL, the SHA-256 check and the JSON shape of `GET /auth/me`. Nothing else.
// It reads the schema a latchkey server wrote (DATABASE_URL), with the cookie it set.
import { hash, timingSafeEqual } from "node:crypto";
import Fastify from "fastify";
import pg from "pg";
// The device list's description of the User-Agent, as latchkey answers it (bowser, memoised).
import { describeDevice } from "../../dist/http/device.js";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const text = `select s.id, s.secret_hash, s.kind, s.created_at, s.last_seen_at, s.expires_at, s.idle_expires_at, s.ip,
                     s.user_agent, u.id, u.username, u.created_at, u.disabled_at
                from sessions s join users u on u.id = s.user_id where s.id = $1`;
const COOKIE = /(?:^|;\s*)__Host-sid=([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})(?:;|$)/;
// Times formatted once each (latchkey memoises them too: a session's and a list's times
// repeat on every request).
const isoCache = new Map();
const iso = (ms) => {
  let text = isoCache.get(ms);
  if (text === undefined) {
    if (isoCache.size >= 10_000) isoCache.clear();
    text = new Date(Number(ms)).toISOString();
    isoCache.set(ms, text);
  }
  return text;
};

const app = Fastify({ logger: false });
app.get("/auth/me", async (request, reply) => {
  const match = COOKIE.exec(request.headers.cookie ?? "");
  const row = match
    ? (await pool.query({ name: "floor_session_lookup", text, values: [match[1]], rowMode: "array" })).rows[0]
    : undefined;
  const now = Date.now();
  if (
    !row ||
    !timingSafeEqual(Buffer.from(hash("sha256", match[2], "base64url")), Buffer.from(row[1])) ||
    now >= Number(row[5]) ||
    now >= Number(row[6]) ||
    row[12] !== null
  ) {
    return reply.code(401).send({ error: "unauthenticated", message: "Sign in to continue." });
  }
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
await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(JSON.stringify({ port: app.server.address().port }));
