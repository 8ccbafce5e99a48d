/**
 * SQLite's `ChangeFeed`: a table of changes with an epoch. SQLite has one writer at a
 * time and a row's AUTOINCREMENT `seq` is taken inside the transaction that commits it, so
 * rows become visible in `seq` order, as the port requires.
 */
import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { ChangeFeed } from "../../core/ports.js";
import { feedPosition } from "../sql/feed.js";
import { toChange } from "../sql/rows.js";
import type { Database } from "../sql/schema.js";

export function changeFeed(db: Kysely<Database>): ChangeFeed {
  return {
    async publish(kind, subject, at) {
      await db.insertInto("changes").values({ kind, subject, at }).execute();
    },
    async read(afterSeq, notBefore, limit) {
      const rows = await db
        .selectFrom("changes")
        .select(["seq", "kind", "subject", "at"])
        .where("seq", ">", afterSeq)
        .where("at", ">=", notBefore)
        .orderBy("seq")
        .limit(limit)
        .execute();
      return rows.map(toChange);
    },
    async position() {
      // The highest seq ever given (AUTOINCREMENT keeps it in sqlite_sequence), whether or
      // not its row was pruned since: a quiet feed whose rows aged out has lost nothing. It
      // goes back only when an older copy of the file is restored, which readers notice.
      return feedPosition(db, sql`(select seq from sqlite_sequence where name = 'changes')`);
    },
    async prune(before) {
      const result = await db.deleteFrom("changes").where("at", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
