/**
 * Issue 28's migration (`0006-session-renewal`) on SQLite and PostgreSQL: a session of
 * before reads as never renewed (no previous secret, its secret set at login), an event of
 * before has no detail, and an instance still on the previous release (a rolling upgrade)
 * can insert sessions and events without the new columns.
 */
import { type Kysely, sql } from "kysely";
import { expect } from "vitest";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { describeMigration } from "./migration-targets.js";

/** Inserts a session and an event as the previous release does: without the new columns. */
async function insertAsBefore(db: Kysely<unknown>, userId: string, sessionId: string, at: number): Promise<void> {
  await sql`insert into sessions (id, user_id, secret_hash, kind, remember, created_at, last_seen_at, expires_at,
      idle_timeout_ms, idle_expires_at, ip, user_agent)
    values (${sessionId}, ${userId}, 'old-hash', 'session', 0, ${at}, ${at}, ${at + 3_600_000}, 600000,
      ${at + 600_000}, '203.0.113.9', 'test')`.execute(db);
  await sql`insert into events (id, user_id, type, at, session_id, ip, user_agent)
    values (${`event-${sessionId}`}, ${userId}, 'login', ${at}, ${sessionId}, '203.0.113.9', 'test')`.execute(db);
}

describeMigration(
  "the session renewal migration",
  "0006-session-renewal",
  "a session of before reads as never renewed, an event of before has no detail",
  async (t) => {
    const alice = makeUser("alice");
    const at = Date.now() - 60_000;
    await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
      values (${alice.id}, 'alice', 'x', ${at}, '["user"]', ${at})`.execute(t.db);
    await insertAsBefore(t.db, alice.id, "before", at);

    const stores = await t.open();
    try {
      expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({
        secretHash: "old-hash",
        previousSecretHash: null,
        secretRotatedAt: at,
      });
      expect(await stores.events.listByUser(alice.id, 10)).toEqual([
        expect.objectContaining({ id: "event-before", detail: null }),
      ]);
      // An instance still on the previous release inserts without the new columns: its
      // session reads as renewed at its login (the column's default, 0, means "before").
      await insertAsBefore(t.db, alice.id, "rolling", at + 1);
      expect((await stores.sessions.findWithUser("rolling"))?.session).toMatchObject({
        previousSecretHash: null,
        secretRotatedAt: at + 1,
      });
      // And the sessions of before renew as any other.
      const renewal = { secretHash: "new-hash", at: at + 5, lastSeenAt: at + 5, idleExpiresAt: at + 600_005 };
      expect(await stores.sessions.renewSecret("before", "old-hash", renewal)).toBe(true);
      expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({
        secretHash: "new-hash",
        previousSecretHash: "old-hash",
        secretRotatedAt: at + 5,
      });
    } finally {
      await stores.close();
    }
  },
);
