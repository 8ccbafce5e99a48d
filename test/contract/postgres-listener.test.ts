/**
 * A PostgreSQL store closed while its LISTEN connection is still connecting must end that
 * connection too. It did not: the CLI (which opens the stores, subscribes, runs one command
 * and closes them within milliseconds) was left with an open socket and never exited, which
 * timed out the multi-process suites now and then.
 *
 * The channel is the schema's own: deployments in two schemas of one database shared
 * `latchkey_changes`, so every publish of one woke the followers of the other.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect, it, vi } from "vitest";
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

describeWith("PostgreSQL", postgresAvailable)("the PostgreSQL change channel", () => {
  it("is the schema's own: a publish wakes this deployment's other instances, never another schema's", async () => {
    const ours = await freshSchema();
    const theirs = await freshSchema();
    const listening = await openPostgresStores({ url: ours.url, max: 1 });
    const sibling = await openPostgresStores({ url: ours.url, max: 1 });
    const other = await openPostgresStores({ url: theirs.url, max: 1 });
    try {
      let wakes = 0;
      listening.changes.subscribe?.(() => wakes++);
      // The listener wakes its followers once when LISTEN is in place.
      await vi.waitFor(() => expect(wakes).toBeGreaterThan(0), { timeout: 5000 });
      wakes = 0;
      await other.changes.publish("session_ended", "s-theirs", Date.now());
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(wakes).toBe(0);
      await sibling.changes.publish("session_ended", "s-ours", Date.now());
      await vi.waitFor(() => expect(wakes).toBeGreaterThan(0), { timeout: 2000 });
    } finally {
      for (const stores of [listening, sibling, other]) await stores.close();
      await ours.drop();
      await theirs.drop();
    }
  });
});
