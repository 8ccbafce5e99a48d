// An Express app on PostgreSQL and Redis whose database already holds its own `users`
// table and its own Kysely migrations: latchkey gets a schema of its own,
// the app's migrator runs after latchkey's, and SIGTERM shuts down as docs/library.md says.
import express from "express";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
import { latchkeyExpress } from "latchkey/express";
import { openPostgresStores } from "latchkey/postgres";
import { openRedisStores } from "latchkey/redis";
import pg from "pg";

const ORIGIN = "http://localhost:3000";
const db = new Kysely({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) }),
});
/** The app's own migrations; 0001 ran before the app took latchkey in. */
const migrations = {
  "0001-users": {
    up: (db) =>
      db.schema
        .createTable("users")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("email", "text", (c) => c.notNull().unique())
        .execute(),
  },
  "0002-users-latchkey-id": {
    up: (db) =>
      db.schema
        .alterTable("users")
        .addColumn("latchkey_id", "text", (c) => c.unique())
        .execute(),
  },
};

const base = await openPostgresStores({ url: process.env.DATABASE_URL, schema: "latchkey" });
const stores = await openRedisStores({ url: process.env.REDIS_URL, base, prefix: process.env.REDIS_PREFIX });
const auth = await createAuth({
  stores,
  sessions: DEFAULT_SESSION_POLICY,
  throttle: DEFAULT_THROTTLE_POLICY,
  tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
});
const migrated = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
if (migrated.error) throw migrated.error;

const latchkey = latchkeyExpress({ auth, publicOrigin: ORIGIN });
const app = express();
app.use(latchkey.routes);
app.use(express.json());
app.post("/api/profile", latchkey.requireAuth, async (req, res) => {
  const row = await db
    .insertInto("users")
    .values({ email: req.body.email, latchkey_id: req.auth.userId })
    .returning(["id", "email"])
    .executeTakeFirstOrThrow();
  res.json(row);
});
app.get("/api/profile", latchkey.requireAuth, async (req, res) => {
  res.json(
    await db.selectFrom("users").select(["id", "email"]).where("latchkey_id", "=", req.auth.userId).executeTakeFirst(),
  );
});
const server = app.listen(0, "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ port: server.address().port, migrated: migrated.results?.map((r) => r.migrationName) })}\n`,
  );
});

// No process.exit: once all of this is closed, nothing holds the process open.
process.once("SIGTERM", async () => {
  server.close();
  latchkey.close();
  await auth.close();
  await auth.stores.close();
  await db.destroy();
});
