/**
 * Issue 32's migration (`0008-sign-in-methods`) on SQLite and PostgreSQL: a session of
 * before reads as signed in with a password at its login, an instance still on the previous
 * release (a rolling upgrade) inserts sessions without the new columns, and the migration
 * undoes cleanly.
 */
import { type Kysely, sql } from "kysely";
import { expect } from "vitest";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { backToBefore, describeMigration } from "./migration-targets.js";

/** Inserts a session as the previous release does: without the new columns. */
async function insertAsBefore(db: Kysely<unknown>, userId: string, sessionId: string, at: number): Promise<void> {
  await sql`insert into sessions (id, user_id, secret_hash, kind, remember, created_at, last_seen_at, expires_at,
      idle_timeout_ms, idle_expires_at, ip, user_agent, previous_secret_hash, secret_rotated_at)
    values (${sessionId}, ${userId}, 'old-hash', 'session', 0, ${at}, ${at}, ${at + 3_600_000}, 600000,
      ${at + 600_000}, '203.0.113.9', 'test', null, ${at})`.execute(db);
}

describeMigration(
  "the sign-in methods migration",
  "0008-sign-in-methods",
  "sessions of before read as signed in with a password at login; the previous release still inserts",
  async (t) => {
    const alice = makeUser("alice");
    const at = Date.now() - 60_000;
    await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
      values (${alice.id}, 'alice', 'x', ${at}, '["user"]', ${at})`.execute(t.db);
    await insertAsBefore(t.db, alice.id, "before", at);

    const stores = await t.open();
    try {
      expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({ authTime: at, amr: ["pwd"] });
      // An instance still on the previous release inserts without the new columns: its
      // session reads as signed in at its login (the column's default, 0, means "before").
      await insertAsBefore(t.db, alice.id, "rolling", at + 1);
      expect((await stores.sessions.findWithUser("rolling"))?.session).toMatchObject({
        authTime: at + 1,
        amr: ["pwd"],
      });
      expect((await stores.sessions.listLive(at + 2, alice.id)).map((s) => [s.id, s.authTime, s.amr])).toEqual([
        ["rolling", at + 1, ["pwd"]],
        ["before", at, ["pwd"]],
      ]);
      // And the sessions of before take a re-authentication as any other.
      expect(await stores.sessions.reauthenticate("before", at + 5, ["otp", "pwd"])).toBe(true);
      expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({
        authTime: at + 5,
        amr: ["otp", "pwd"],
      });
    } finally {
      await stores.close();
    }
    // Undone, the previous release's schema is back.
    await backToBefore(t);
    await insertAsBefore(t.db, alice.id, "after-undo", at + 6);
    await expect(sql`select auth_time from sessions`.execute(t.db)).rejects.toThrow(/auth_time/);
  },
);
