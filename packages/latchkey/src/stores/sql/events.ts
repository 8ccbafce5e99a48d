/** The SQL `EventStore`: the security log. */
import type { Kysely } from "kysely";
import type { EventStore } from "../../core/ports.js";
import { fromEvent, toEvent } from "./rows.js";
import type { Database } from "./schema.js";

export function eventStore(db: Kysely<Database>): EventStore {
  return {
    async append(event) {
      await db.insertInto("events").values(fromEvent(event)).execute();
    },
    async listByUser(userId, limit) {
      const rows = await db
        .selectFrom("events")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("seq", "desc")
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async sweepOlderThan(before, limit) {
      // The oldest first, by the `at` index: a batch never scans the events it keeps.
      const result = await db
        .deleteFrom("events")
        .where("seq", "in", db.selectFrom("events").select("seq").where("at", "<", before).orderBy("at").limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
