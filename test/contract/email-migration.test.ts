/**
 * Issue 31's migration (`0007-email`) on SQLite and PostgreSQL: users of before have no
 * address and read as such, any number of users have none, an instance still on the
 * previous release (a rolling upgrade) inserts users without the new columns, and the
 * migration undoes cleanly.
 */
import { type Kysely, sql } from "kysely";
import { expect } from "vitest";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { backToBefore, describeMigration } from "./migration-targets.js";

/** Inserts a user as the previous release does: without the new columns. */
async function insertAsBefore(db: Kysely<unknown>, id: string, username: string, at: number): Promise<void> {
  await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
    values (${id}, ${username}, 'x', ${at}, '["user"]', ${at})`.execute(db);
}

describeMigration(
  "the email migration",
  "0007-email",
  "users of before have no address; the previous release still inserts users",
  async (t) => {
    const at = Date.now() - 60_000;
    const alice = makeUser("alice");
    await insertAsBefore(t.db, alice.id, "alice", at);

    const stores = await t.open();
    try {
      expect(await stores.users.findById(alice.id)).toMatchObject({ email: null, emailVerifiedAt: null });
      // An instance still on the previous release: its users have no address, as many as it makes.
      const bob = makeUser("bob");
      const carol = makeUser("carol");
      await insertAsBefore(t.db, bob.id, "bob", at + 1);
      await insertAsBefore(t.db, carol.id, "carol", at + 2);
      expect(await stores.users.findById(carol.id)).toMatchObject({ username: "carol", email: null });
      // And the users of before take an address as any other; the unique index holds.
      expect(await stores.users.setEmail(alice.id, "alice@example.com", at + 3)).toBe(true);
      expect(await stores.users.setEmail(bob.id, "alice@example.com", null)).toBe("email_taken");
      expect((await stores.users.findByEmail("alice@example.com"))?.id).toBe(alice.id);
      // Their sessions still read (the lookup selects no new column) and links go with them.
      await stores.links.create({
        id: "link",
        userId: bob.id,
        purpose: "reset_password",
        secretHash: "h",
        email: "bob@example.com",
        createdAt: at,
        expiresAt: at + 3_600_000,
        usedAt: null,
      });
      await sql`delete from users where id = ${bob.id}`.execute(t.db);
      expect(await stores.links.find("link")).toBeNull();
    } finally {
      await stores.close();
    }
    // Undone, the previous release's schema is back: no address, no link tokens.
    await backToBefore(t);
    await insertAsBefore(t.db, makeUser("dave").id, "dave", at + 4);
    await expect(sql`select email from users`.execute(t.db)).rejects.toThrow(/email/);
    await expect(sql`select id from link_tokens`.execute(t.db)).rejects.toThrow(/link_tokens/);
  },
);
