import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect, it } from "vitest";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const inSchemas = (...schemas: string[]) =>
  `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schemas.join(",")}`)}`;

describeWith("PostgreSQL", postgresAvailable)("PostgreSQL in a database that holds another latchkey", () => {
  it("migrates its own schema when another schema on the search path already has latchkey's tables", async () => {
    const other = `lk_${randomBytes(6).toString("hex")}`;
    const ours = `lk_${randomBytes(6).toString("hex")}`;
    await admin(`create schema ${other}; create schema ${ours}`);
    try {
      const first = await openPostgresStores({ url: inSchemas(other) });
      await first.close();
      // Kysely, left to itself, finds the other schema's migration tables and fails with
      // `relation "kysely_migration_lock" does not exist`.
      const stores = await openPostgresStores({ url: inSchemas(ours, other) });
      try {
        const now = Date.now();
        const id = "0194d2c6-0000-7000-8000-000000000001";
        await stores.users.create({
          id,
          username: "alice",
          passwordHash: "x",
          createdAt: now,
          disabledAt: null,
          roles: ["user"],
          rolesAt: now,
          email: null,
          emailVerifiedAt: null,
        });
        expect((await stores.users.findById(id))?.username).toBe("alice");
      } finally {
        await stores.close();
      }
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      const { rows } = await client.query(
        "select table_schema from information_schema.tables where table_name = 'users' and table_schema = any($1) order by 1",
        [[ours, other]],
      );
      await client.end();
      expect(rows.map((r) => r.table_schema).sort()).toEqual([ours, other].sort());
    } finally {
      await admin(`drop schema if exists ${other} cascade; drop schema if exists ${ours} cascade`);
    }
  });

  it("migrates while other schemas of the database are created and dropped (CI, stop 41)", async () => {
    // Kysely's introspector lists every table of every schema to find the migration
    // tables, looking each schema up by name as it goes: a schema dropped meanwhile (another
    // deployment's, another test's) failed our migration with `3F000 schema "..." does not
    // exist`. Another connection churns schemas with many columns to widen that window.
    const churn = new pg.Client({ connectionString: POSTGRES_URL });
    await churn.connect();
    const columns = Array.from({ length: 40 }, (_, i) => `c${i} serial`).join(", ");
    let churning = true;
    const churned = (async () => {
      let rounds = 0;
      while (churning) {
        const name = `lk_churn_${randomBytes(6).toString("hex")}`;
        await churn.query(`create schema ${name}; create table ${name}.t (${columns})`);
        await churn.query(`drop schema ${name} cascade`);
        rounds += 1;
      }
      return rounds;
    })();
    const schemas: string[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const ours = `lk_${randomBytes(6).toString("hex")}`;
        schemas.push(ours);
        await admin(`create schema ${ours}`);
        const stores = await openPostgresStores({ url: inSchemas(ours) });
        await stores.close();
      }
    } finally {
      churning = false;
      expect(await churned).toBeGreaterThan(0);
      await churn.end();
      if (schemas.length > 0) await admin(schemas.map((name) => `drop schema if exists ${name} cascade`).join("; "));
    }
  }, 120_000);
});
