/**
 * A PostgreSQL store closed while its LISTEN connection is still connecting must end that
 * connection too. It did not: the CLI (which opens the stores, subscribes, runs one command
 * and closes them within milliseconds) was left with an open socket and never exited, which
 * timed out the multi-process suites now and then.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect, it } from "vitest";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { freshSchema, POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

describeWith("PostgreSQL", postgresAvailable)("the PostgreSQL change listener", () => {
  it("is ended by a close that comes while it is still connecting: no connection is left behind", async () => {
    const schema = await freshSchema();
    const name = `lklisten_${randomBytes(4).toString("hex")}`;
    const url = new URL(schema.url);
    url.searchParams.set("application_name", name);
    try {
      for (let i = 0; i < 5; i++) {
        const stores = await openPostgresStores({ url: url.toString(), max: 1 });
        stores.changes.subscribe?.(() => {});
        await stores.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      const { rows } = await admin.query(
        "select count(*)::int as n from pg_stat_activity where application_name = $1",
        [name],
      );
      await admin.end();
      expect(rows[0].n).toBe(0);
    } finally {
      await schema.drop();
    }
  });
});
