/** The SQL `CounterStore`: throttle counters, atomic per key. */
import { type Kysely, sql } from "kysely";
import type { CounterStore } from "../../core/ports.js";
import type { Database } from "./schema.js";

export function counterStore(db: Kysely<Database>): CounterStore {
  return {
    async hit(key, windowMs, now) {
      // One statement, so concurrent hits from any process are serialised by the database.
      const resetAt = now + windowMs;
      const row = await db
        .insertInto("counters")
        .values({ key, count: 1, reset_at: resetAt })
        .onConflict((oc) =>
          oc.column("key").doUpdateSet({
            count: sql`case when counters.reset_at <= ${now} then 1 else counters.count + 1 end`,
            reset_at: sql`case when counters.reset_at <= ${now} then ${resetAt} else counters.reset_at end`,
          }),
        )
        .returning(["count", "reset_at"])
        .executeTakeFirstOrThrow();
      return { count: Number(row.count), resetAt: Number(row.reset_at) };
    },
    async peek(key, now) {
      const row = await db
        .selectFrom("counters")
        .select(["count", "reset_at"])
        .where("key", "=", key)
        .where("reset_at", ">", now)
        .executeTakeFirst();
      return row ? { count: Number(row.count), resetAt: Number(row.reset_at) } : null;
    },
    async release(key, now) {
      await db
        .updateTable("counters")
        .set({ count: sql`count - 1` })
        .where("key", "=", key)
        .where("reset_at", ">", now)
        .where("count", ">", 0)
        .execute();
    },
    async reset(key) {
      await db.deleteFrom("counters").where("key", "=", key).execute();
    },
    async sweepExpired(now) {
      const result = await db.deleteFrom("counters").where("reset_at", "<=", now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
