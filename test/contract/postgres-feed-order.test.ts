/**
 * PostgreSQL's change feed in commit order (issue 24, item 2): a database made before the
 * feed had positions keeps its entries and its readers' cursors across the upgrade.
 */

import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { expect, it } from "vitest";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import * as feedOrder from "../../packages/latchkey/src/stores/postgres/migrations/0004-feed-order.js";
import * as roles from "../../packages/latchkey/src/stores/postgres/migrations/0005-roles.js";
import * as sessionRenewal from "../../packages/latchkey/src/stores/postgres/migrations/0006-session-renewal.js";
import * as email from "../../packages/latchkey/src/stores/postgres/migrations/0007-email.js";
import * as signInMethods from "../../packages/latchkey/src/stores/postgres/migrations/0008-sign-in-methods.js";
import * as secondFactors from "../../packages/latchkey/src/stores/postgres/migrations/0009-second-factors.js";
import * as eventRetention from "../../packages/latchkey/src/stores/postgres/migrations/0010-event-retention.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

describeWith("PostgreSQL", postgresAvailable)("PostgreSQL's change feed across the upgrade to commit order", () => {
  it("keeps every entry at its old sequence number, so a cursor taken before the upgrade reads on", async () => {
    const schema = await freshSchema();
    try {
      // A database as the previous release left it: 0004 (and what came after) not applied,
      // entries numbered by seq.
      const first = await openPostgresStores({ url: schema.url });
      await first.close();
      const db = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 1 }) }),
      });
      await eventRetention.down(db);
      await secondFactors.down(db);
      await signInMethods.down(db);
      await email.down(db);
      await sessionRenewal.down(db);
      await roles.down(db);
      await feedOrder.down(db);
      await db
        .deleteFrom("latchkey_migration" as never)
        .where("name" as never, "in", [
          "0004-feed-order",
          "0005-roles",
          "0006-session-renewal",
          "0007-email",
          "0008-sign-in-methods",
          "0009-second-factors",
          "0010-event-retention",
        ] as never)
        .execute();
      const now = Date.now();
      for (const subject of ["a", "b", "c"]) {
        await db
          .insertInto("changes" as never)
          .values({ kind: "session_ended", subject, at: now } as never)
          .execute();
      }
      await db.destroy();

      const stores = await openPostgresStores({ url: schema.url });
      try {
        const old = await stores.changes.read(0, 0, 10);
        expect(old.map((c) => c.subject)).toEqual(["a", "b", "c"]);
        const cursor = old[1]?.seq as number;
        expect((await stores.changes.position()).seq).toBe(old[2]?.seq);
        await stores.changes.publish("session_ended", "d", now);
        const next = await stores.changes.read(cursor, 0, 10);
        expect(next.map((c) => c.subject)).toEqual(["c", "d"]);
        expect(next[1]?.seq).toBeGreaterThan(next[0]?.seq as number);
      } finally {
        await stores.close();
      }
    } finally {
      await schema.drop();
    }
  });
});
