/**
 * latchkey in a PostgreSQL database it shares with its host (issue 25 item 12): the host
 * has its own `users` table and its own Kysely migrations. latchkey with `schema` lives
 * beside them and leaves the host's migrator working; without it, the clash is a
 * `LatchkeySetupError` naming the table and the fix, never "the store is unavailable". A
 * database migrated by an earlier release (latchkey's history in `kysely_migration`) has
 * that history moved to latchkey's own table on first open.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Kysely, type Migration, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterEach, expect, it } from "vitest";
import { LatchkeySetupError, StoreUnavailableError } from "../../packages/latchkey/src/core/errors.js";
import { migratePostgres, openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import * as initial from "../../packages/latchkey/src/stores/postgres/migrations/0001-initial.js";
import * as todoOrder from "../../packages/latchkey/src/stores/postgres/migrations/0002-todo-order.js";
import * as services from "../../packages/latchkey/src/stores/postgres/migrations/0003-services.js";
import * as feedOrder from "../../packages/latchkey/src/stores/postgres/migrations/0004-feed-order.js";
import { POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { runCli } from "../helpers/processes.js";
import { describeWith } from "../helpers/services.js";

/** What the release before roles (issue 27) applied; later ones add `0005-roles`, `0006-session-renewal`, `0007-email`, `0008-sign-in-methods`, `0009-second-factors` and `0010-event-retention`. */
const LATCHKEY_MIGRATIONS: Record<string, Migration> = {
  "0001-initial": initial,
  "0002-todo-order": todoOrder,
  "0003-services": services,
  "0004-feed-order": feedOrder,
};

/** The host's own migrations: its `users` (nothing like latchkey's), then a second step. */
const HOST_V1: Record<string, Migration> = {
  "2024-01-users": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("users")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("email", "text", (c) => c.notNull())
        .execute();
    },
  },
};
const HOST_V2: Record<string, Migration> = {
  ...HOST_V1,
  "2024-02-orders": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("orders")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("user_id", "integer", (c) => c.references("users.id"))
        .execute();
    },
  },
};

const dropped: string[] = [];
afterEach(async () => {
  const names = dropped.splice(0);
  if (names.length > 0) await admin(names.map((name) => `drop schema if exists ${name} cascade`).join("; "));
});

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh schema name, dropped after the test (latchkey creates it when given `schema`). */
function schemaName(): string {
  const name = `lk_${randomBytes(6).toString("hex")}`;
  dropped.push(name);
  return name;
}

/** The host's database: its own schema on the search_path (its "public"). */
async function hostDatabase(): Promise<{ url: string; schema: string; db: Kysely<unknown> }> {
  const schema = schemaName();
  await admin(`create schema ${schema}`);
  const url = `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
  });
  return { url, schema, db };
}

/** The host's own migrator: Kysely's default tables (`kysely_migration`) in its schema. */
async function hostMigrate(db: Kysely<unknown>, schema: string, migrations: Record<string, Migration>) {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  });
  return migrator.migrateToLatest();
}

async function tablesIn(schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query("select table_name from information_schema.tables where table_schema = $1", [
      schema,
    ]);
    return rows.map((row) => row.table_name as string).sort();
  } finally {
    await client.end();
  }
}

const alice = () => {
  const createdAt = Date.now();
  return {
    id: randomUUID(),
    username: `alice-${randomBytes(3).toString("hex")}`,
    passwordHash: "x",
    createdAt,
    disabledAt: null,
    roles: ["user"],
    rolesAt: createdAt,
    email: null,
    emailVerifiedAt: null,
  };
};

describeWith("PostgreSQL", postgresAvailable)("PostgreSQL shared with the host's own tables and migrations", () => {
  it("with `schema`, lives beside the host's users table, and the host's migrator still works after", async () => {
    const host = await hostDatabase();
    try {
      expect((await hostMigrate(host.db, host.schema, HOST_V1)).error).toBeUndefined();
      const ours = schemaName();
      const stores = await openPostgresStores({ url: host.url, schema: ours });
      try {
        const user = alice();
        expect(await stores.users.create(user)).toBe(true);
        expect((await stores.users.findById(user.id))?.username).toBe(user.username);
      } finally {
        await stores.close();
      }
      // The host migrates after latchkey did: its history is its own, untouched.
      const { error, results } = await hostMigrate(host.db, host.schema, HOST_V2);
      expect(error).toBeUndefined();
      expect(results?.map((r) => [r.migrationName, r.status])).toEqual([["2024-02-orders", "Success"]]);
      expect(await tablesIn(host.schema)).toEqual(["kysely_migration", "kysely_migration_lock", "orders", "users"]);
      const mine = await tablesIn(ours);
      expect(mine).toContain("latchkey_migration");
      expect(mine).not.toContain("kysely_migration");
      // The CLI's migrate, told the same schema, finds nothing to do.
      expect(await migratePostgres(host.url, { schema: ours })).toEqual([]);
    } finally {
      await host.db.destroy();
    }
  });

  it("without `schema`, refuses the host's users table by name and says what to pass, touching nothing", async () => {
    const host = await hostDatabase();
    try {
      expect((await hostMigrate(host.db, host.schema, HOST_V1)).error).toBeUndefined();
      const refused = await openPostgresStores({ url: host.url }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(LatchkeySetupError);
      expect(refused).not.toBeInstanceOf(StoreUnavailableError);
      expect((refused as Error).message).toMatch(
        new RegExp(`^latchkey is set up wrong: table "users" is in schema "${host.schema}" and not latchkey's`),
      );
      expect((refused as Error).message).toContain('schema: "latchkey"');
      expect(await tablesIn(host.schema)).toEqual(["kysely_migration", "kysely_migration_lock", "users"]);
      expect((await hostMigrate(host.db, host.schema, HOST_V2)).error).toBeUndefined();
    } finally {
      await host.db.destroy();
    }
  });

  it("moves an earlier release's history out of kysely_migration on first open, once, with every instance agreeing", async () => {
    const host = await hostDatabase();
    try {
      // What the previous release left: latchkey's tables, its history in Kysely's default table.
      const legacy = await new Migrator({
        db: host.db,
        provider: { getMigrations: async () => LATCHKEY_MIGRATIONS },
        migrationTableSchema: host.schema,
      }).migrateToLatest();
      expect(legacy.error).toBeUndefined();
      const user = alice();
      await sql`insert into users (id, username, password_hash, created_at) values (${user.id}, ${user.username}, 'x', 1)`.execute(
        host.db,
      );
      // A rolling start: three instances open at once.
      const opened = await Promise.all([1, 2, 3].map(() => openPostgresStores({ url: host.url, max: 2 })));
      try {
        // A user of before has the default role, set when they were created.
        expect(await opened[0]?.users.findById(user.id)).toMatchObject({
          username: user.username,
          roles: ["user"],
          rolesAt: 1,
        });
      } finally {
        for (const stores of opened) await stores.close();
      }
      const tables = await tablesIn(host.schema);
      expect(tables).toContain("latchkey_migration");
      expect(tables).not.toContain("kysely_migration");
      expect(tables).not.toContain("kysely_migration_lock");
      const { rows } = await sql<{ name: string }>`select name from latchkey_migration order by name`.execute(host.db);
      expect(rows.map((row) => row.name)).toEqual([
        ...Object.keys(LATCHKEY_MIGRATIONS),
        "0005-roles",
        "0006-session-renewal",
        "0007-email",
        "0008-sign-in-methods",
        "0009-second-factors",
        "0010-event-retention",
      ]);
      expect(await migratePostgres(host.url)).toEqual([]);
      // Now the host may start Kysely migrations of its own in the same schema.
      const notes: Migration = {
        up: async (db: Kysely<unknown>) => {
          await db.schema
            .createTable("notes")
            .addColumn("id", "serial", (c) => c.primaryKey())
            .execute();
        },
      };
      expect((await hostMigrate(host.db, host.schema, { "2024-03-notes": notes })).error).toBeUndefined();
    } finally {
      await host.db.destroy();
    }
  });

  it("leaves alone a host whose own history is named like latchkey's (0001-initial) beside its users and changes", async () => {
    const host = await hostDatabase();
    try {
      // A host's first Kysely migration under the common name, making tables of latchkey's names.
      const hostInitial: Migration = {
        async up(db: Kysely<unknown>) {
          await db.schema
            .createTable("users")
            .addColumn("id", "serial", (c) => c.primaryKey())
            .addColumn("email", "text")
            .execute();
          await db.schema
            .createTable("changes")
            .addColumn("id", "serial", (c) => c.primaryKey())
            .addColumn("note", "text")
            .execute();
        },
      };
      expect((await hostMigrate(host.db, host.schema, { "0001-initial": hostInitial })).error).toBeUndefined();
      const refused = await openPostgresStores({ url: host.url }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(LatchkeySetupError);
      expect((refused as Error).message).toMatch(
        new RegExp(
          `^latchkey is set up wrong: tables "users", "changes" are in schema "${host.schema}" and not latchkey's`,
        ),
      );
      expect((refused as Error).message).toContain('schema: "latchkey"');
      // Untouched: the host's history where it was, no table of latchkey's, no column added.
      expect(await tablesIn(host.schema)).toEqual(["changes", "kysely_migration", "kysely_migration_lock", "users"]);
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(host.db);
      expect(rows.map((row) => row.name)).toEqual(["0001-initial"]);
      const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns
        where table_schema = ${host.schema} and table_name = 'changes' order by column_name`.execute(host.db);
      expect(columns.rows.map((row) => row.column_name)).toEqual(["id", "note"]);
      expect(
        (
          await hostMigrate(host.db, host.schema, {
            "0001-initial": hostInitial,
            "2024-02-orders": HOST_V2["2024-02-orders"]!,
          })
        ).error,
      ).toBeUndefined();
    } finally {
      await host.db.destroy();
    }
  });

  it("moves the history of a release older still (its first migration only), then applies the rest", async () => {
    const host = await hostDatabase();
    try {
      const legacy = await new Migrator({
        db: host.db,
        provider: { getMigrations: async () => ({ "0001-initial": initial }) },
        migrationTableSchema: host.schema,
      }).migrateToLatest();
      expect(legacy.error).toBeUndefined();
      expect(await migratePostgres(host.url)).toEqual([
        "0002-todo-order",
        "0003-services",
        "0004-feed-order",
        "0005-roles",
        "0006-session-renewal",
        "0007-email",
        "0008-sign-in-methods",
        "0009-second-factors",
        "0010-event-retention",
      ]);
      const tables = await tablesIn(host.schema);
      expect(tables).toEqual(expect.arrayContaining(["latchkey_migration", "services"]));
      expect(tables).not.toContain("kysely_migration");
    } finally {
      await host.db.destroy();
    }
  });

  it("reports a migration that fails as that migration's failure, and an unreachable database as unavailable", async () => {
    const host = await hostDatabase();
    try {
      await migratePostgres(host.url);
      // A database a newer release migrated: a step this one does not know.
      await sql`insert into latchkey_migration (name, timestamp) values ('0099-future', '2030-01-01')`.execute(host.db);
      const failed = await openPostgresStores({ url: host.url }).catch((error: unknown) => error);
      expect(failed).not.toBeInstanceOf(StoreUnavailableError);
      expect((failed as Error).message).toMatch(/^latchkey: a migration failed: .*0099-future/);
      const unreachable = await openPostgresStores({ url: "postgres://postgres@127.0.0.1:1/test" }).catch(
        (error: unknown) => error,
      );
      expect(unreachable).toBeInstanceOf(StoreUnavailableError);
    } finally {
      await host.db.destroy();
    }
  });

  it("the server's DATABASE_SCHEMA: `latchkey migrate` migrates into that schema, beside the host's users", async () => {
    const host = await hostDatabase();
    try {
      expect((await hostMigrate(host.db, host.schema, HOST_V1)).error).toBeUndefined();
      const ours = schemaName();
      const env = { DATABASE_URL: host.url, DATABASE_SCHEMA: ours };
      const first = await runCli(["migrate"], env);
      expect([first.code, first.stdout]).toEqual([
        0,
        "applied 0001-initial, 0002-todo-order, 0003-services, 0004-feed-order, 0005-roles, 0006-session-renewal, 0007-email, 0008-sign-in-methods, 0009-second-factors, 0010-event-retention\n",
      ]);
      expect(await tablesIn(ours)).toEqual(expect.arrayContaining(["latchkey_migration", "users", "sessions"]));
      expect((await runCli(["migrate"], env)).stdout).toBe("up to date\n");
      // Without it, the CLI says what is wrong and what to set, and exits non-zero.
      const refused = await runCli(["migrate"], { DATABASE_URL: host.url });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('table "users" is in schema');
      expect(refused.stderr).toContain("DATABASE_SCHEMA=latchkey");
    } finally {
      await host.db.destroy();
    }
  });

  it("refuses a schema name that would need quoting, naming the rule", async () => {
    for (const schema of ["Latchkey", "lk-1", "pg_catalog", "", "a; drop table users"]) {
      await expect(openPostgresStores({ url: POSTGRES_URL, schema })).rejects.toThrow(
        /schema .* must be 1 to 63 lower-case letters/,
      );
    }
  });
});
