/**
 * PostgreSQL's `ChangeFeed`, in commit order.
 *
 * A row's identity `seq` is taken at INSERT but the row is seen at COMMIT, so with
 * concurrent writers seq 12 can be seen before 11, and a reader whose cursor passed 12
 * would never read 11 (a service would accept the token of a session that ended). Readers
 * therefore follow `pos`, which is given only to committed rows, by one sequencer at a
 * time: a transaction that takes an advisory lock, numbers every committed row still
 * without a position, and commits before the next sequencer can take the lock. A row with
 * a higher `pos` is never seen before one with a lower, however long a writer holds its
 * transaction open: that row is simply numbered when it commits.
 *
 * Whoever publishes numbers its own row at once (and notifies in the same transaction, so
 * listeners wake when the position is readable); every read first numbers rows that a
 * writer committed without numbering (it died in between, or wrote in a transaction of
 * its own), so a row is readable within one poll of its commit.
 */
import { type Kysely, sql } from "kysely";
import type pg from "pg";
import type { ChangeFeed } from "../../core/ports.js";
import { feedPosition } from "../sql/feed.js";
import { toChange } from "../sql/rows.js";
import type { Database } from "../sql/schema.js";
import { CHANNEL_SQL } from "./listener.js";

/** Rows numbered per sequencer transaction at most. */
const SEQUENCE_BATCH = 1000;

/**
 * One simple-protocol query, so its statements run as one implicit transaction on the
 * server without a round trip between them: a client that stalls cannot hold the lock.
 * The lock and the channel are per schema (another latchkey in another schema has a feed
 * of its own, and followers of their own).
 */
function sequencerSql(notify: boolean): string {
  return [
    "select pg_advisory_xact_lock(hashtext('latchkey.changes.' || current_schema()))",
    `update changes set pos = nextval('changes_pos') where seq in (select seq from changes where pos is null order by seq limit ${SEQUENCE_BATCH})`,
    ...(notify ? [`select pg_notify(${CHANNEL_SQL}, '')`] : []),
  ].join(";\n");
}

/**
 * @example
 * const changes = postgresChangeFeed(db, pool);
 */
export function postgresChangeFeed(db: Kysely<Database>, pool: pg.Pool): ChangeFeed {
  const numberAndNotify = sequencerSql(true);
  const number = sequencerSql(false);
  /**
   * Changes after `afterSeq` in position order, and whether committed rows wait for a
   * position: one round trip (the probe is an index look-up on `changes_unsequenced`).
   */
  async function readNumbered(afterSeq: number, notBefore: number, limit: number) {
    const { rows } = await sql<{ seq: string | null; kind: string; subject: string; at: string; pending: boolean }>`
      select c.seq, c.kind, c.subject, c.at, p.pending
      from (select exists (select 1 from changes where pos is null) as pending) p
      left join lateral (
        select pos as seq, kind, subject, at from changes
        where pos > ${afterSeq} and at >= ${notBefore} order by pos limit ${limit}
      ) c on true`.execute(db);
    const changes = rows.flatMap((row) =>
      row.seq === null ? [] : [toChange({ ...row, seq: Number(row.seq), at: Number(row.at) })],
    );
    return { changes, pending: rows[0]?.pending === true };
  }
  return {
    async publish(kind, subject, at) {
      await db.insertInto("changes").values({ kind, subject, at }).execute();
      // The change is stored: should numbering fail now, the next read numbers it.
      await pool.query(numberAndNotify).catch(() => {});
    },
    async read(afterSeq, notBefore, limit) {
      const first = await readNumbered(afterSeq, notBefore, limit);
      if (!first.pending) return first.changes;
      // A writer committed without numbering: number its rows, and read what they add.
      await pool.query(number);
      return (await readNumbered(afterSeq, notBefore, limit)).changes;
    },
    async position() {
      // The highest position ever given, its row pruned or not.
      return feedPosition(db, sql`(select case when is_called then last_value else 0 end from changes_pos)`);
    },
    async prune(before) {
      // A row not yet numbered is kept until it is: a reader must still be told of it.
      const result = await db
        .deleteFrom("changes")
        .where("at", "<", before)
        .where("pos", "is not", null)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
