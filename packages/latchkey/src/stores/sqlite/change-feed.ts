/**
 * SQLite's `ChangeFeed`: a table of changes with an epoch. SQLite has one writer at a
 * time and a row's AUTOINCREMENT `seq` is taken inside the transaction that commits it, so
 * rows become visible in `seq` order, as the port requires.
 *
 * Every process reads the feed four times a second, busy or idle, so its two reads
 * (`position`, `read`) are prepared statements run synchronously, without a Kysely query's
 * build and compile: an idle server spent most of its main thread's time on them.
 */
import type SQLite from "better-sqlite3";
import type { Kysely } from "kysely";
import type { ChangeFeed } from "../../core/ports.js";
import { toChange } from "../sql/rows.js";
import type { Database } from "../sql/schema.js";
import { FEED_EPOCH, feedEpoch } from "../sql/secrets.js";

export function changeFeed(db: Kysely<Database>, database: SQLite.Database): ChangeFeed {
  const readStatement = database.prepare<
    [number, number, number],
    { seq: number; kind: string; subject: string; at: number }
  >("select seq, kind, subject, at from changes where seq > ? and at >= ? order by seq limit ?");
  // The highest seq ever given (AUTOINCREMENT keeps it in sqlite_sequence), whether or not
  // its row was pruned since: a quiet feed whose rows aged out has lost nothing. It goes
  // back only when an older copy of the file is restored, which readers notice.
  const positionStatement = database.prepare<[string], { epoch: string | null; seq: number | null }>(
    "select (select value from secrets where name = ?) as epoch, (select seq from sqlite_sequence where name = 'changes') as seq",
  );
  return {
    async publish(kind, subject, at) {
      await db.insertInto("changes").values({ kind, subject, at }).execute();
    },
    async read(afterSeq, notBefore, limit) {
      return readStatement.all(afterSeq, notBefore, limit).map(toChange);
    },
    async position() {
      const row = positionStatement.get(FEED_EPOCH);
      return { epoch: await feedEpoch(db, row?.epoch), seq: Number(row?.seq ?? 0) };
    },
    async prune(before) {
      const result = await db.deleteFrom("changes").where("at", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
