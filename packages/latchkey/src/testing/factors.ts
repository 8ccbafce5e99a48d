/**
 * The store contract's cases about second factors (`../testing.ts`): factors listed oldest
 * first, confirmed once, a TOTP step accepted once and only past the last one (also when
 * uses race, on one handle or two), pending ones deleted; recovery codes replaced and used
 * once each; and a user's factors, codes and challenges going with them.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Stores } from "../core/ports.js";
import type { FactorRecord } from "../core/records.js";
import { makeChallenge as challenge, handlesOf } from "./challenges.js";
import { T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

const newId = () => randomUUID().replaceAll("-", "").slice(0, 22);

/** A confirmed TOTP factor of `userId` (a fresh id), with `extra` over it. */
const totp = (userId: string, extra: Partial<FactorRecord> = {}): FactorRecord => ({
  id: newId(),
  userId,
  kind: "totp",
  name: "Phone",
  secret: "sealed-secret",
  credentialId: null,
  publicKey: null,
  signCount: null,
  transports: null,
  createdAt: T0,
  confirmedAt: T0,
  lastUsedAt: null,
  lastStep: null,
  ...extra,
});

/** A confirmed passkey of `userId` (a fresh id and credential id), with `extra` over it. */
const passkey = (userId: string, extra: Partial<FactorRecord> = {}): FactorRecord =>
  totp(userId, {
    kind: "passkey",
    name: "YubiKey 5",
    secret: null,
    credentialId: newId(),
    publicKey: "cose-public-key",
    signCount: 7,
    transports: "usb,nfc",
    ...extra,
  });

/**
 * Registers the second factor cases, inside `describeStoreContract`'s suite.
 * @example
 * describeFactorContract({ stores: () => s, opened: () => opened });
 */
export function describeFactorContract(state: ContractState): void {
  /** Fresh users alice and bob, created. */
  const twoUsers = async () => {
    const s = state.stores();
    const alice = user("alice");
    const bob = user("bob");
    await s.users.create(alice);
    await s.users.create(bob);
    return { s, alice, bob };
  };
  const handles = (s: Stores) => handlesOf(state, s);

  describe("second factors", () => {
    it("creates, finds, and lists a user's factors oldest first, pending ones included", async () => {
      const { s, alice, bob } = await twoUsers();
      const later = totp(alice.id, { createdAt: T0 + 10, confirmedAt: null });
      const key = passkey(alice.id, { createdAt: T0 + 5, lastUsedAt: T0 + 6 });
      const first = totp(alice.id, { lastStep: 12345, lastUsedAt: T0 + 1 });
      const bobs = totp(bob.id);
      for (const factor of [later, key, first, bobs]) await s.factors.create(factor);
      expect(await s.factors.find(key.id)).toEqual(key);
      expect(await s.factors.find(later.id)).toEqual(later);
      expect(await s.factors.find("missing")).toBeNull();
      expect(await s.factors.listByUser(alice.id)).toEqual([first, key, later]);
      expect(await s.factors.listByUser("missing")).toEqual([]);
    });

    it("confirms a pending factor once, recording its step", async () => {
      const { s, alice } = await twoUsers();
      const pending = totp(alice.id, { confirmedAt: null });
      await s.factors.create(pending);
      expect(await s.factors.confirm(pending.id, T0 + 5, 100)).toBe(true);
      expect(await s.factors.confirm(pending.id, T0 + 6, 101)).toBe(false);
      expect(await s.factors.confirm("missing", T0 + 6, 101)).toBe(false);
      expect(await s.factors.find(pending.id)).toEqual({ ...pending, confirmedAt: T0 + 5, lastStep: 100 });
    });

    it("confirms one authenticator app per user: of two set-ups, the second is refused", async () => {
      const { s, alice, bob } = await twoUsers();
      const first = totp(alice.id, { confirmedAt: null });
      const second = totp(alice.id, { confirmedAt: null });
      const bobs = totp(bob.id, { confirmedAt: null });
      for (const one of [first, second, bobs]) await s.factors.create(one);
      expect(await s.factors.confirm(first.id, T0 + 1, 1)).toBe(true);
      expect(await s.factors.confirm(second.id, T0 + 2, 2)).toBe(false);
      expect(await s.factors.confirm(bobs.id, T0 + 3, 3)).toBe(true);
      expect((await s.factors.find(second.id))?.confirmedAt).toBeNull();
      // Passkeys are not limited so.
      for (const key of [passkey(alice.id, { confirmedAt: null }), passkey(alice.id, { confirmedAt: null })]) {
        await s.factors.create(key);
        expect(await s.factors.confirm(key.id, T0 + 4, null)).toBe(true);
      }
    });

    it("accepts a step only past the last one, and none of a pending factor", async () => {
      const { s, alice } = await twoUsers();
      const factor = totp(alice.id);
      const pending = totp(alice.id, { confirmedAt: null });
      await s.factors.create(factor);
      await s.factors.create(pending);
      expect(await s.factors.useStep(factor.id, 100, T0 + 1)).toBe(true);
      expect(await s.factors.useStep(factor.id, 100, T0 + 2)).toBe(false);
      expect(await s.factors.useStep(factor.id, 99, T0 + 2)).toBe(false);
      expect(await s.factors.find(factor.id)).toMatchObject({ lastStep: 100, lastUsedAt: T0 + 1 });
      expect(await s.factors.useStep(factor.id, 101, T0 + 3)).toBe(true);
      expect(await s.factors.find(factor.id)).toMatchObject({ lastStep: 101, lastUsedAt: T0 + 3 });
      expect(await s.factors.useStep(pending.id, 200, T0 + 3)).toBe(false);
      expect(await s.factors.find(pending.id)).toEqual(pending);
      expect(await s.factors.useStep("missing", 200, T0 + 3)).toBe(false);
    });

    it("of racing uses of one step, on every handle, exactly one wins", async () => {
      const { s, alice } = await twoUsers();
      const factor = totp(alice.id, { lastStep: 99 });
      await s.factors.create(factor);
      const all = await handles(s);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => all[i % all.length]?.factors.useStep(factor.id, 100, T0 + i)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await s.factors.find(factor.id))?.lastStep).toBe(100);
    });

    it("replaces a sealed secret, and deletes one factor", async () => {
      const { s, alice } = await twoUsers();
      const factor = totp(alice.id);
      await s.factors.create(factor);
      expect(await s.factors.updateSecret(factor.id, "resealed")).toBe(true);
      expect(await s.factors.find(factor.id)).toEqual({ ...factor, secret: "resealed" });
      expect(await s.factors.updateSecret("missing", "x")).toBe(false);
      expect(await s.factors.delete(factor.id)).toBe(true);
      expect(await s.factors.delete(factor.id)).toBe(false);
      expect(await s.factors.find(factor.id)).toBeNull();
    });

    it("deletes a user's pending factors only, of one kind or of every kind", async () => {
      const { s, alice, bob } = await twoUsers();
      const confirmed = totp(alice.id);
      const pendingTotp = totp(alice.id, { confirmedAt: null });
      const pendingKey = passkey(alice.id, { confirmedAt: null });
      const bobs = totp(bob.id, { confirmedAt: null });
      for (const factor of [confirmed, pendingTotp, pendingKey, bobs]) await s.factors.create(factor);
      expect(await s.factors.deletePending(alice.id, "totp")).toBe(1);
      expect(await s.factors.find(pendingTotp.id)).toBeNull();
      expect(await s.factors.find(pendingKey.id)).toEqual(pendingKey);
      expect(await s.factors.deletePending(alice.id)).toBe(1);
      expect(await s.factors.deletePending(alice.id)).toBe(0);
      expect(await s.factors.listByUser(alice.id)).toEqual([confirmed]);
      expect(await s.factors.find(bobs.id)).toEqual(bobs);
    });
  });

  describe("recovery codes", () => {
    it("are replaced as a set, used once each, counted and deleted", async () => {
      const { s, alice, bob } = await twoUsers();
      await s.factors.replaceRecoveryCodes(alice.id, ["old-1", "old-2"], T0);
      await s.factors.replaceRecoveryCodes(bob.id, ["bob-1"], T0);
      await s.factors.replaceRecoveryCodes(alice.id, ["h1", "h2", "h3"], T0 + 1);
      expect(await s.factors.countRecoveryCodes(alice.id)).toBe(3);
      expect(await s.factors.useRecoveryCode(alice.id, "old-1", T0 + 2)).toBe(false);
      expect(await s.factors.useRecoveryCode(alice.id, "h2", T0 + 2)).toBe(true);
      expect(await s.factors.useRecoveryCode(alice.id, "h2", T0 + 3)).toBe(false);
      expect(await s.factors.useRecoveryCode(bob.id, "h1", T0 + 3)).toBe(false);
      expect(await s.factors.countRecoveryCodes(alice.id)).toBe(2);
      expect(await s.factors.deleteRecoveryCodes(alice.id)).toBe(3);
      expect(await s.factors.countRecoveryCodes(alice.id)).toBe(0);
      expect(await s.factors.useRecoveryCode(alice.id, "h1", T0 + 4)).toBe(false);
      expect(await s.factors.countRecoveryCodes(bob.id)).toBe(1);
      await s.factors.replaceRecoveryCodes(bob.id, [], T0 + 5);
      expect(await s.factors.countRecoveryCodes(bob.id)).toBe(0);
    });

    it("of racing uses of one code, on every handle, exactly one wins", async () => {
      const { s, alice } = await twoUsers();
      await s.factors.replaceRecoveryCodes(alice.id, ["h1", "h2"], T0);
      const all = await handles(s);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => all[i % all.length]?.factors.useRecoveryCode(alice.id, "h1", T0 + i)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await s.factors.countRecoveryCodes(alice.id)).toBe(1);
    });
  });

  it("deleting a user deletes their factors, recovery codes and challenges, and nobody else's", async () => {
    const { s, alice, bob } = await twoUsers();
    const factors = [totp(alice.id), passkey(alice.id, { confirmedAt: null })];
    const bobs = totp(bob.id);
    const mine = challenge(alice.id);
    const nobodys = challenge(null);
    const bobsChallenge = challenge(bob.id);
    for (const factor of [...factors, bobs]) await s.factors.create(factor);
    for (const one of [mine, nobodys, bobsChallenge]) await s.challenges.create(one);
    await s.factors.replaceRecoveryCodes(alice.id, ["h1", "h2"], T0);
    await s.factors.replaceRecoveryCodes(bob.id, ["h1"], T0);
    expect(await s.users.delete(alice.id)).toBe(true);
    expect(await s.factors.listByUser(alice.id)).toEqual([]);
    for (const factor of factors) expect(await s.factors.find(factor.id)).toBeNull();
    expect(await s.factors.countRecoveryCodes(alice.id)).toBe(0);
    expect(await s.challenges.find(mine.id)).toBeNull();
    expect(await s.challenges.find(nobodys.id)).toEqual(nobodys);
    expect(await s.challenges.find(bobsChallenge.id)).toEqual(bobsChallenge);
    expect(await s.factors.listByUser(bob.id)).toEqual([bobs]);
    expect(await s.factors.countRecoveryCodes(bob.id)).toBe(1);
  });
}
