/**
 * The change feed in commit order. `seq` is taken when a row is inserted but the row is
 * seen when it commits, so concurrent writers made it visible out of order (seq 12 before
 * 11) and a reader whose cursor had passed 12 never read 11. `pos` is the order readers
 * see: given to committed rows by one sequencer at a time (see `../change-feed.ts`), so a
 * row with a higher `pos` is never seen before one with a lower. Existing rows keep their
 * `seq` as their `pos`, so existing cursors stay valid.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table changes add column pos bigint`.execute(db);
  await sql`update changes set pos = seq`.execute(db);
  await sql`create sequence changes_pos as bigint`.execute(db);
  // The sequence starts after every position already given (none given: it is not called).
  await sql`select setval('changes_pos', coalesce((select max(seq) from changes), 1), (select count(*) > 0 from changes))`.execute(
    db,
  );
  await sql`create unique index changes_by_pos on changes (pos)`.execute(db);
  // Finds the rows still waiting for a position without scanning the feed.
  await sql`create index changes_unsequenced on changes (seq) where pos is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index changes_unsequenced`.execute(db);
  await sql`drop index changes_by_pos`.execute(db);
  await sql`drop sequence changes_pos`.execute(db);
  await sql`alter table changes drop column pos`.execute(db);
}
