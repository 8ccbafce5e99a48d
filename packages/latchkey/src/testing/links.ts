/**
 * The store contract's cases about mailed-link tokens (`../testing.ts`): single use (also
 * under concurrency) only while unexpired, a user's pending link, deleting by user (and
 * with the user), and the sweep.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { LinkTokenRecord } from "../core/records.js";
import { T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

/** A verification link of `userId` (a fresh id), unused, for an hour, with `extra` over it. */
const link = (userId: string, extra: Partial<LinkTokenRecord> = {}): LinkTokenRecord => ({
  id: randomUUID().replaceAll("-", "").slice(0, 22),
  userId,
  purpose: "verify_email",
  secretHash: "hash-of-link-secret",
  email: "alice@example.com",
  createdAt: T0,
  expiresAt: T0 + 3_600_000,
  usedAt: null,
  ...extra,
});

/**
 * Registers the link token cases, inside `describeStoreContract`'s suite.
 * @example
 * describeLinkTokenContract({ stores: () => s, opened: () => opened });
 */
export function describeLinkTokenContract(state: ContractState): void {
  describe("link tokens", () => {
    /** Fresh users alice and bob, created. */
    const twoUsers = async () => {
      const s = state.stores();
      const alice = user("alice", { email: "alice@example.com" });
      const bob = user("bob");
      await s.users.create(alice);
      await s.users.create(bob);
      return { s, alice, bob };
    };

    it("creates and finds a token", async () => {
      const { s, alice } = await twoUsers();
      const token = link(alice.id, { purpose: "reset_password" });
      await s.links.create(token);
      expect(await s.links.find(token.id)).toEqual(token);
      expect(await s.links.find("missing")).toBeNull();
    });

    it("of concurrent uses of one token, exactly one succeeds", async () => {
      const { s, alice } = await twoUsers();
      const token = link(alice.id);
      await s.links.create(token);
      const results = await Promise.all(Array.from({ length: 10 }, () => s.links.use(token.id, T0 + 1)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await s.links.find(token.id)).toEqual({ ...token, usedAt: T0 + 1 });
      expect(await s.links.use(token.id, T0 + 2)).toBe(false);
      expect(await s.links.use("missing", T0 + 2)).toBe(false);
    });

    it("refuses a use from its expiry on, and leaves the token unused", async () => {
      const { s, alice } = await twoUsers();
      const token = link(alice.id, { expiresAt: T0 + 1000 });
      await s.links.create(token);
      expect(await s.links.use(token.id, T0 + 1000)).toBe(false);
      expect(await s.links.use(token.id, T0 + 5000)).toBe(false);
      expect((await s.links.find(token.id))?.usedAt).toBeNull();
      expect(await s.links.use(token.id, T0 + 999)).toBe(true);
    });

    it("finds a user's newest unused, unexpired token of a purpose", async () => {
      const { s, alice, bob } = await twoUsers();
      const older = link(alice.id, { createdAt: T0, expiresAt: T0 + 10_000 });
      const newer = link(alice.id, { createdAt: T0 + 10, expiresAt: T0 + 5_000 });
      const used = link(alice.id, { createdAt: T0 + 20, usedAt: T0 + 21 });
      const expired = link(alice.id, { createdAt: T0 + 30, expiresAt: T0 + 40 });
      const reset = link(alice.id, { createdAt: T0 + 50, purpose: "reset_password" });
      const bobs = link(bob.id, { createdAt: T0 + 60 });
      for (const token of [older, newer, used, expired, reset, bobs]) await s.links.create(token);
      expect(await s.links.findPending(alice.id, "verify_email", T0 + 100)).toEqual(newer);
      expect(await s.links.findPending(alice.id, "verify_email", T0 + 6_000)).toEqual(older);
      expect(await s.links.findPending(alice.id, "verify_email", T0 + 10_000)).toBeNull();
      expect(await s.links.findPending(alice.id, "reset_password", T0 + 100)).toEqual(reset);
      expect(await s.links.findPending(alice.id, "revert_email", T0 + 100)).toBeNull();
      expect(await s.links.findPending(bob.id, "verify_email", T0 + 100)).toEqual(bobs);
    });

    it("deletes a user's tokens of one purpose, or of every purpose", async () => {
      const { s, alice, bob } = await twoUsers();
      const tokens = [
        link(alice.id),
        link(alice.id),
        link(alice.id, { purpose: "reset_password" }),
        link(alice.id, { purpose: "revert_email" }),
      ];
      const bobs = link(bob.id);
      for (const token of [...tokens, bobs]) await s.links.create(token);
      expect(await s.links.deleteByUser(alice.id, "verify_email")).toBe(2);
      expect(await s.links.find(tokens[0]?.id ?? "")).toBeNull();
      expect(await s.links.find(tokens[2]?.id ?? "")).not.toBeNull();
      expect(await s.links.deleteByUser(alice.id, "verify_email")).toBe(0);
      expect(await s.links.deleteByUser(alice.id)).toBe(2);
      expect(await s.links.find(tokens[3]?.id ?? "")).toBeNull();
      expect(await s.links.find(bobs.id)).toEqual(bobs);
    });

    it("keeps the one token it is told to keep (a link just used)", async () => {
      const { s, alice } = await twoUsers();
      const kept = link(alice.id, { purpose: "reset_password" });
      const other = link(alice.id, { purpose: "reset_password" });
      for (const token of [kept, other]) await s.links.create(token);
      expect(await s.links.deleteByUser(alice.id, "reset_password", { id: kept.id })).toBe(1);
      expect(await s.links.find(kept.id)).toEqual(kept);
      expect(await s.links.find(other.id)).toBeNull();
    });

    it("keeps the tokens mailed to one address (the account's own, when a change is voided)", async () => {
      const { s, alice } = await twoUsers();
      const own = link(alice.id, { email: "alice@example.com" });
      const change = link(alice.id, { email: "alice@new.example" });
      for (const token of [own, change]) await s.links.create(token);
      expect(await s.links.deleteByUser(alice.id, "verify_email", { email: "alice@example.com" })).toBe(1);
      expect(await s.links.find(own.id)).toEqual(own);
      expect(await s.links.find(change.id)).toBeNull();
    });

    it("deletes a user's tokens with the user", async () => {
      const { s, alice, bob } = await twoUsers();
      const token = link(alice.id);
      const bobs = link(bob.id);
      await s.links.create(token);
      await s.links.create(bobs);
      expect(await s.users.delete(alice.id)).toBe(true);
      expect(await s.links.find(token.id)).toBeNull();
      expect(await s.links.find(bobs.id)).toEqual(bobs);
    });

    it("sweeps tokens expired at now, at most `limit` at a time", async () => {
      const { s, alice } = await twoUsers();
      const dead = [1, 2, 3].map((i) => link(alice.id, { expiresAt: T0 + i }));
      const live = link(alice.id, { expiresAt: T0 + 3_600_000 });
      for (const token of [...dead, live]) await s.links.create(token);
      expect(await s.links.sweepExpired(T0 + 2, 10)).toBe(2);
      expect(await s.links.sweepExpired(T0 + 10, 1)).toBe(1);
      expect(await s.links.sweepExpired(T0 + 10, 10)).toBe(0);
      for (const token of dead) expect(await s.links.find(token.id)).toBeNull();
      expect(await s.links.find(live.id)).toEqual(live);
    });
  });
}
