/**
 * The store contract's cases about email addresses (`../testing.ts`): unique among users
 * in the normalised form the caller gives (the store compares exactly), any number of
 * users with none, and `setEmail`'s atomic refusal of a taken address.
 */
import { describe, expect, it } from "vitest";
import { T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

/**
 * Registers the email address cases, inside `describeStoreContract`'s suite.
 * @example
 * describeEmailContract({ stores: () => s, opened: () => opened });
 */
export function describeEmailContract(state: ContractState): void {
  describe("email addresses", () => {
    it("creates with an address, finds by it exactly, and refuses a taken one", async () => {
      const s = state.stores();
      const alice = user("alice", { email: "alice@example.com", emailVerifiedAt: T0 + 1 });
      expect(await s.users.create(alice)).toBe(true);
      expect(await s.users.findByEmail("alice@example.com")).toEqual(alice);
      expect(await s.users.findById(alice.id)).toEqual(alice);
      // Normalising is the caller's (`parseEmail`): the store compares what it is given.
      expect(await s.users.findByEmail("Alice@example.com")).toBeNull();
      expect(await s.users.findByEmail("bob@example.com")).toBeNull();
      expect(await s.users.create(user("bob", { email: "alice@example.com" }))).toBe(false);
      expect(await s.users.findByUsername("bob")).toBeNull();
      expect(await s.users.create(user("bob", { email: "bob@example.com" }))).toBe(true);
    });

    it("lets any number of users have no address", async () => {
      const s = state.stores();
      for (const name of ["carol", "dave", "erin"]) expect(await s.users.create(user(name))).toBe(true);
      expect((await s.users.list()).map((u) => [u.username, u.email, u.emailVerifiedAt])).toEqual([
        ["carol", null, null],
        ["dave", null, null],
        ["erin", null, null],
      ]);
    });

    it("of concurrent creations with one address, exactly one succeeds", async () => {
      const s = state.stores();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => s.users.create(user(`user${i}`, { email: "same@example.com" }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await s.users.list()).toHaveLength(1);
    });

    it("sets, verifies, changes and removes an address; refuses a taken one and changes nothing", async () => {
      const s = state.stores();
      const alice = user("alice", { email: "alice@example.com" });
      const bob = user("bob");
      await s.users.create(alice);
      await s.users.create(bob);
      expect(await s.users.setEmail(bob.id, "alice@example.com", T0)).toBe("email_taken");
      expect(await s.users.findById(bob.id)).toEqual(bob);
      expect(await s.users.findByEmail("alice@example.com")).toEqual(alice);
      expect(await s.users.setEmail("missing", "nobody@example.com", null)).toBe(false);
      expect(await s.users.findByEmail("nobody@example.com")).toBeNull();

      expect(await s.users.setEmail(bob.id, "bob@example.com", null)).toBe(true);
      expect(await s.users.findByEmail("bob@example.com")).toEqual({ ...bob, email: "bob@example.com" });
      // Its own address again (verified now) is not "taken".
      expect(await s.users.setEmail(bob.id, "bob@example.com", T0 + 5)).toBe(true);
      expect(await s.users.findById(bob.id)).toMatchObject({ email: "bob@example.com", emailVerifiedAt: T0 + 5 });

      // A change frees the old address for anyone.
      expect(await s.users.setEmail(bob.id, "robert@example.com", null)).toBe(true);
      expect(await s.users.findByEmail("bob@example.com")).toBeNull();
      expect(await s.users.setEmail(alice.id, "bob@example.com", null)).toBe(true);
      expect(await s.users.findByEmail("alice@example.com")).toBeNull();

      expect(await s.users.setEmail(bob.id, null, null)).toBe(true);
      expect(await s.users.findById(bob.id)).toMatchObject({ email: null, emailVerifiedAt: null });
      expect(await s.users.findByEmail("robert@example.com")).toBeNull();
    });

    it("of concurrent changes of two users to one address, exactly one succeeds", async () => {
      const s = state.stores();
      const alice = user("alice");
      const bob = user("bob");
      await s.users.create(alice);
      await s.users.create(bob);
      const results = await Promise.all([
        s.users.setEmail(alice.id, "shared@example.com", null),
        s.users.setEmail(bob.id, "shared@example.com", null),
      ]);
      expect([...results].sort()).toEqual([true, "email_taken"].sort());
      const holder = await s.users.findByEmail("shared@example.com");
      expect(holder?.id).toBe(results[0] === true ? alice.id : bob.id);
    });

    it("frees a deleted user's address", async () => {
      const s = state.stores();
      const alice = user("alice", { email: "alice@example.com" });
      await s.users.create(alice);
      expect(await s.users.delete(alice.id)).toBe(true);
      expect(await s.users.findByEmail("alice@example.com")).toBeNull();
      expect(await s.users.create(user("alice2", { email: "alice@example.com" }))).toBe(true);
    });
  });
}
