/**
 * The store contract's cases about passkeys (issue 32), run against every backend by
 * stores.test.ts: a passkey found by its credential id, a credential id registered once
 * (also when registrations race), the signature counter moved forward in one conditional
 * write (0 allowed while both are 0: an authenticator that does not count), exactly one of
 * racing answers with one count winning, and a rename. Written as the published suite's
 * cases are (`latchkey/testing`, src/testing/factors.ts), so they can move there as they are.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import type { FactorRecord } from "../../packages/latchkey/src/core/records.js";
import { T0, makeUser as user } from "../../packages/latchkey/src/testing/fixtures.js";
import type { OpenedBackend } from "../../packages/latchkey/src/testing.js";
import type { Backend } from "./backends.js";

const newId = () => randomUUID().replaceAll("-", "").slice(0, 22);

/** A confirmed passkey of `userId` (a fresh id and credential id), with `extra` over it. */
const passkey = (userId: string, extra: Partial<FactorRecord> = {}): FactorRecord => ({
  id: newId(),
  userId,
  kind: "passkey",
  name: "YubiKey 5",
  secret: null,
  credentialId: newId(),
  publicKey: "cose-public-key",
  signCount: 7,
  transports: "usb,nfc",
  createdAt: T0,
  confirmedAt: T0,
  lastUsedAt: null,
  lastStep: null,
  ...extra,
});

/**
 * Registers the passkey cases for `backend`: fresh stores for each.
 * @example
 * describePasskeyStoreContract(BACKENDS[0]);
 */
export function describePasskeyStoreContract(backend: Backend): void {
  describe(`passkeys in the store: ${backend.name}`, () => {
    let opened: OpenedBackend;
    let s: Stores;
    beforeEach(async () => {
      expect.hasAssertions();
      opened = await backend.open();
      s = opened.stores;
    });
    afterEach(() => opened.cleanup());

    /** The stores, and a second handle on the same data when the backend has one (another instance). */
    const handles = async () => [s, ...(opened.openAnother ? [await opened.openAnother()] : [])];
    const twoUsers = async () => {
      const alice = user("alice");
      const bob = user("bob");
      await s.users.create(alice);
      await s.users.create(bob);
      return { alice, bob };
    };

    it("finds a passkey by its credential id, and nothing by an unknown or removed one", async () => {
      const { alice, bob } = await twoUsers();
      const key = passkey(alice.id);
      const bobs = passkey(bob.id, { signCount: 0, transports: null });
      expect(await s.factors.create(key)).toBe(true);
      expect(await s.factors.create(bobs)).toBe(true);
      expect(await s.factors.findByCredential(key.credentialId as string)).toEqual(key);
      expect(await s.factors.findByCredential(bobs.credentialId as string)).toEqual(bobs);
      expect(await s.factors.findByCredential("missing")).toBeNull();
      expect(await s.factors.delete(key.id)).toBe(true);
      expect(await s.factors.findByCredential(key.credentialId as string)).toBeNull();
      // Deleting its user takes it too.
      await s.users.delete(bob.id);
      expect(await s.factors.findByCredential(bobs.credentialId as string)).toBeNull();
    });

    it("refuses a credential id that is taken, by any user, and keeps nothing of the refused one", async () => {
      const { alice, bob } = await twoUsers();
      const key = passkey(alice.id);
      expect(await s.factors.create(key)).toBe(true);
      const again = passkey(bob.id, { credentialId: key.credentialId, name: "Copy" });
      expect(await s.factors.create(again)).toBe(false);
      const mine = passkey(alice.id, { credentialId: key.credentialId });
      expect(await s.factors.create(mine)).toBe(false);
      expect(await s.factors.find(again.id)).toBeNull();
      expect(await s.factors.find(mine.id)).toBeNull();
      expect(await s.factors.listByUser(bob.id)).toEqual([]);
      expect(await s.factors.findByCredential(key.credentialId as string)).toEqual(key);
      // Once removed, the credential id may be registered again.
      expect(await s.factors.delete(key.id)).toBe(true);
      expect(await s.factors.create(again)).toBe(true);
      expect(await s.factors.findByCredential(key.credentialId as string)).toEqual(again);
    });

    it("of racing registrations of one credential id, on every handle, exactly one is stored", async () => {
      const { alice, bob } = await twoUsers();
      const credentialId = newId();
      const all = await handles();
      const keys = Array.from({ length: 8 }, (_, i) => passkey(i % 2 ? alice.id : bob.id, { credentialId }));
      const results = await Promise.all(keys.map((key, i) => all[i % all.length]?.factors.create(key)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = keys[results.indexOf(true)];
      expect(await s.factors.findByCredential(credentialId)).toEqual(winner);
      const stored = [...(await s.factors.listByUser(alice.id)), ...(await s.factors.listByUser(bob.id))];
      expect(stored).toEqual([winner]);
    });

    it("moves the signature counter forward only, recording the use", async () => {
      const { alice } = await twoUsers();
      const key = passkey(alice.id, { signCount: 7 });
      await s.factors.create(key);
      expect(await s.factors.usePasskey(key.id, 7, T0 + 1)).toBe(false);
      expect(await s.factors.usePasskey(key.id, 6, T0 + 1)).toBe(false);
      // A counting authenticator that sends 0 is not one that does not count.
      expect(await s.factors.usePasskey(key.id, 0, T0 + 1)).toBe(false);
      expect(await s.factors.find(key.id)).toEqual(key);
      expect(await s.factors.usePasskey(key.id, 8, T0 + 2)).toBe(true);
      expect(await s.factors.find(key.id)).toEqual({ ...key, signCount: 8, lastUsedAt: T0 + 2 });
      expect(await s.factors.usePasskey(key.id, 8, T0 + 3)).toBe(false);
      expect(await s.factors.usePasskey(key.id, 1000, T0 + 4)).toBe(true);
      expect(await s.factors.find(key.id)).toMatchObject({ signCount: 1000, lastUsedAt: T0 + 4 });
      expect(await s.factors.usePasskey("missing", 2000, T0 + 5)).toBe(false);
    });

    it("allows 0 again and again while both counts are 0, and not once the authenticator counts", async () => {
      const { alice } = await twoUsers();
      const key = passkey(alice.id, { signCount: 0 });
      await s.factors.create(key);
      expect(await s.factors.usePasskey(key.id, 0, T0 + 1)).toBe(true);
      expect(await s.factors.usePasskey(key.id, 0, T0 + 2)).toBe(true);
      expect(await s.factors.find(key.id)).toEqual({ ...key, signCount: 0, lastUsedAt: T0 + 2 });
      expect(await s.factors.usePasskey(key.id, 3, T0 + 3)).toBe(true);
      expect(await s.factors.usePasskey(key.id, 0, T0 + 4)).toBe(false);
      expect(await s.factors.find(key.id)).toMatchObject({ signCount: 3, lastUsedAt: T0 + 3 });
    });

    it("of racing answers with one count, on every handle, exactly one wins", async () => {
      const { alice } = await twoUsers();
      const key = passkey(alice.id, { signCount: 7 });
      await s.factors.create(key);
      const all = await handles();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => all[i % all.length]?.factors.usePasskey(key.id, 8, T0 + i)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await s.factors.find(key.id))?.signCount).toBe(8);
    });

    it("renames a factor, and nothing that is gone", async () => {
      const { alice } = await twoUsers();
      const key = passkey(alice.id);
      await s.factors.create(key);
      expect(await s.factors.rename(key.id, "Work key")).toBe(true);
      expect(await s.factors.find(key.id)).toEqual({ ...key, name: "Work key" });
      expect(await s.factors.findByCredential(key.credentialId as string)).toEqual({ ...key, name: "Work key" });
      expect(await s.factors.rename("missing", "x")).toBe(false);
      await s.factors.delete(key.id);
      expect(await s.factors.rename(key.id, "Again")).toBe(false);
      expect(await s.factors.find(key.id)).toBeNull();
    });
  });
}
