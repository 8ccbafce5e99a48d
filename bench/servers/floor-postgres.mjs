// The floor of a cookie-session server on PostgreSQL: bare Fastify, one named prepared
// statement (array rows) through a pool of ten connections, as latchkey's session lookup
// on PostgreSQL, the SHA-256 check and the JSON of `GET /auth/me` (floor-common.mjs).
// Nothing else. It reads the schema a latchkey server wrote (DATABASE_URL), with the
// cookie it set.
import Fastify from "fastify";
import pg from "pg";
import { isLive, meAnswer, sessionCookie, sessionLookupSql, unauthenticated } from "./floor-common.mjs";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const text = sessionLookupSql("$1");

const app = Fastify({ logger: false });
app.get("/auth/me", async (request, reply) => {
  const cookie = sessionCookie(request);
  const row = cookie
    ? (await pool.query({ name: "floor_session_lookup", text, values: [cookie.id], rowMode: "array" })).rows[0]
    : undefined;
  return cookie && isLive(row, cookie.secret) ? meAnswer(row) : unauthenticated(reply);
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(JSON.stringify({ port: app.server.address().port }));
