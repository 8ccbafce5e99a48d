// The peer: Better Auth (email and password) on SQLite through better-sqlite3 (its built-in
// Kysely dialect), in a node:http server: its handler under /api/auth (sign-up, sign-in)
// and `GET /auth/me` answering `auth.api.getSession({ headers })`, the session check a host
// app's protected route makes. COOKIE_CACHE=1 turns on `session.cookieCache` (the session
// signed into a second cookie, so a check reads no database while the cookie lasts: an hour
// here rather than its five minutes, so that it outlasts the run, since autocannon repeats
// the sign-in's cookies and never takes a refreshed one); otherwise Better Auth's defaults. Its tables are created at start with its own
// migration helper (`getMigrations`), in the file DATABASE_FILE (WAL, as latchkey's store).
import { createServer } from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { fromNodeHeaders, toNodeHandler } from "better-auth/node";
import SQLite from "better-sqlite3";

const port = Number(process.env.PORT ?? 0);
const database = new SQLite(process.env.DATABASE_FILE);
database.pragma("journal_mode = WAL");
const options = {
  database,
  baseURL: `http://127.0.0.1:${port}`,
  secret: "bench-secret-bench-secret-bench-secret",
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  ...(process.env.COOKIE_CACHE === "1" ? { session: { cookieCache: { enabled: true, maxAge: 3600 } } } : {}),
};
await (await getMigrations(options)).runMigrations();
const auth = betterAuth(options);
const handler = toNodeHandler(auth);
const json = { "content-type": "application/json; charset=utf-8" };

const server = createServer(async (req, res) => {
  if (req.url.startsWith("/api/auth/")) return handler(req, res);
  if (req.method !== "GET" || req.url !== "/auth/me") return void res.writeHead(404).end();
  try {
    const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
    if (session) res.writeHead(200, json).end(JSON.stringify(session));
    else res.writeHead(401, json).end(JSON.stringify({ error: "unauthenticated" }));
  } catch (error) {
    console.error(error);
    res.writeHead(500, json).end(JSON.stringify({ error: "internal" }));
  }
});
server.listen(port, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
