/**
 * The store contract's cases about sign-in challenges (`../testing.ts`): wrong answers
 * counted and the challenge used once, both only while it is open (also when they race,
 * on one handle or two), and the sweep of expired ones.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Stores } from "../core/ports.js";
import type { ChallengeRecord } from "../core/records.js";
import { T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

/**
 * A second-step challenge of `userId` (a fresh id), unused, for five minutes, with `extra` over it.
 * @example
 * await stores.challenges.create(makeChallenge(alice.id, { expiresAt: T0 + 1000 }));
 */
export const makeChallenge = (userId: string | null, extra: Partial<ChallengeRecord> = {}): ChallengeRecord => ({
  id: randomUUID().replaceAll("-", "").slice(0, 22),
  userId,
  purpose: "second_factor",
  secretHash: "hash-of-challenge-secret",
  data: '{"amr":["pwd"]}',
  createdAt: T0,
  expiresAt: T0 + 300_000,
  usedAt: null,
  failures: 0,
  ...extra,
});

/**
 * The stores, and a second handle on the same data when the backend has one: racing
 * calls spread over them stand for several instances.
 * @example
 * const all = await handlesOf(state, state.stores());
 */
export async function handlesOf(state: ContractState, s: Stores): Promise<Stores[]> {
  const opened = state.opened();
  return [s, ...(opened.openAnother ? [await opened.openAnother()] : [])];
}

const challenge = makeChallenge;

/**
 * Registers the sign-in challenge cases, inside `describeStoreContract`'s suite.
 * @example
 * describeChallengeContract({ stores: () => s, opened: () => opened });
 */
export function describeChallengeContract(state: ContractState): void {
  /** A fresh user alice, created. */
  const withUser = async () => {
    const s = state.stores();
    const alice = user("alice");
    await s.users.create(alice);
    return { s, alice };
  };
  const handles = (s: Stores) => handlesOf(state, s);

  describe("sign-in challenges", () => {
    it("are created and found, of a user or of nobody yet", async () => {
      const { s, alice } = await withUser();
      const mine = challenge(alice.id);
      const nobodys = challenge(null, { purpose: "passkey_sign_in", data: '{"challenge":"abc"}' });
      await s.challenges.create(mine);
      await s.challenges.create(nobodys);
      expect(await s.challenges.find(mine.id)).toEqual(mine);
      expect(await s.challenges.find(nobodys.id)).toEqual(nobodys);
      expect(await s.challenges.find("missing")).toBeNull();
    });

    it("count wrong answers while open, and none once used, expired or gone", async () => {
      const { s, alice } = await withUser();
      const one = challenge(alice.id, { expiresAt: T0 + 1000 });
      await s.challenges.create(one);
      expect(await s.challenges.fail(one.id, T0 + 1)).toBe(1);
      expect(await s.challenges.fail(one.id, T0 + 2)).toBe(2);
      expect(await s.challenges.fail(one.id, T0 + 1000)).toBeNull();
      expect(await s.challenges.fail("missing", T0 + 2)).toBeNull();
      expect(await s.challenges.use(one.id, T0 + 3)).toBe(true);
      expect(await s.challenges.fail(one.id, T0 + 4)).toBeNull();
      expect(await s.challenges.find(one.id)).toEqual({ ...one, failures: 2, usedAt: T0 + 3 });
    });

    it("give racing wrong answers distinct counts", async () => {
      const { s, alice } = await withUser();
      const one = challenge(alice.id);
      await s.challenges.create(one);
      const all = await handles(s);
      const counts = await Promise.all(
        Array.from({ length: 6 }, (_, i) => all[i % all.length]?.challenges.fail(one.id, T0 + 1)),
      );
      expect([...counts].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it("are used once, only before they expire; of racing uses, on every handle, exactly one wins", async () => {
      const { s, alice } = await withUser();
      const one = challenge(alice.id);
      const late = challenge(alice.id, { expiresAt: T0 + 1000 });
      await s.challenges.create(one);
      await s.challenges.create(late);
      const all = await handles(s);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => all[i % all.length]?.challenges.use(one.id, T0 + 1)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await s.challenges.find(one.id))?.usedAt).toBe(T0 + 1);
      expect(await s.challenges.use(one.id, T0 + 2)).toBe(false);
      expect(await s.challenges.use("missing", T0 + 2)).toBe(false);
      expect(await s.challenges.use(late.id, T0 + 1000)).toBe(false);
      expect((await s.challenges.find(late.id))?.usedAt).toBeNull();
      expect(await s.challenges.use(late.id, T0 + 999)).toBe(true);
    });

    it("are swept once expired at now, at most `limit` at a time", async () => {
      const { s, alice } = await withUser();
      const dead = [1, 2, 3].map((i) => challenge(i === 2 ? null : alice.id, { expiresAt: T0 + i }));
      const live = challenge(alice.id);
      for (const one of [...dead, live]) await s.challenges.create(one);
      expect(await s.challenges.sweepExpired(T0 + 2, 10)).toBe(2);
      expect(await s.challenges.sweepExpired(T0 + 10, 1)).toBe(1);
      expect(await s.challenges.sweepExpired(T0 + 10, 10)).toBe(0);
      for (const one of dead) expect(await s.challenges.find(one.id)).toBeNull();
      expect(await s.challenges.find(live.id)).toEqual(live);
    });

    it("of one user are all deleted at once, and nobody else's", async () => {
      const { s, alice } = await withUser();
      const bob = user("bob");
      await s.users.create(bob);
      const hers = [challenge(alice.id), challenge(alice.id, { usedAt: T0 })];
      const others = [challenge(bob.id), challenge(null)];
      for (const one of [...hers, ...others]) await s.challenges.create(one);
      expect(await s.challenges.deleteByUser(alice.id)).toBe(2);
      for (const one of hers) expect(await s.challenges.find(one.id)).toBeNull();
      for (const one of others) expect(await s.challenges.find(one.id)).toEqual(one);
      expect(await s.challenges.deleteByUser(alice.id)).toBe(0);
    });
  });
}
