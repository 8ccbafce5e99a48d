/**
 * The store contract's cases about how and when the person last proved who they are in a
 * session (`../testing.ts`): `authTime` and `amr` stored and read with the session, and
 * `reauthenticate`, which sets both on a session that is there and leaves everything else.
 */
import { describe, expect, it } from "vitest";
import type { SessionRecord, UserRecord } from "../core/records.js";
import { readSession, makeSession as session, storedSession, T0 } from "./fixtures.js";
import type { ContractState } from "./roles.js";

/**
 * Registers the sign-in method cases, inside `describeStoreContract`'s suite.
 * @example
 * describeSignInMethodsContract({ stores: () => s, opened: () => opened });
 */
export function describeSignInMethodsContract(state: ContractState): void {
  describe("sign-in time and methods", () => {
    let alice: UserRecord;
    const start = async (extra: Partial<SessionRecord> = {}): Promise<SessionRecord> => {
      let one: SessionRecord;
      ({ user: alice, session: one } = await storedSession(state.stores(), extra));
      return one;
    };

    it("are stored with the session and read with it, by every read", async () => {
      const s = state.stores();
      const one = await start({ authTime: T0 - 1000, amr: ["otp", "pwd"] });
      expect(await readSession(s, one.id)).toEqual(one);
      expect(await s.sessions.listLive(T0, alice.id)).toEqual([one]);
      expect(await s.sessions.delete(one.id)).toEqual(one);
    });

    it("reauthenticate sets both on the session, and nothing else; false when it is gone", async () => {
      const s = state.stores();
      const one = await start();
      const other = session(alice.id);
      await s.sessions.create(other);
      expect(await s.sessions.reauthenticate(one.id, T0 + 5000, ["hwk", "pwd"])).toBe(true);
      const again = { ...one, authTime: T0 + 5000, amr: ["hwk", "pwd"] };
      expect(await readSession(s, one.id)).toEqual(again);
      expect(await readSession(s, other.id)).toEqual(other);
      // Later writes keep it: a touch, a renewal, a password change, a role change.
      expect(await s.sessions.touch(one.id, T0 + 6000, T0 + 606_000)).toBe(true);
      const renewal = { secretHash: "second", at: T0 + 7000, lastSeenAt: T0 + 7000, idleExpiresAt: T0 + 607_000 };
      expect(await s.sessions.renewSecret(one.id, one.secretHash, renewal)).toBe(true);
      expect(await s.sessions.replaceSecret(one.id, "third", T0 + 8000)).toBe(true);
      expect(await s.users.setRoles(alice.id, ["editor", "user"], T0 + 9000)).toBe(T0 + 9000);
      expect(await readSession(s, one.id)).toMatchObject({
        authTime: T0 + 5000,
        amr: ["hwk", "pwd"],
        secretHash: "third",
      });
      // And a second re-authentication replaces the methods, not adds to them.
      expect(await s.sessions.reauthenticate(one.id, T0 + 10_000, ["pwd"])).toBe(true);
      expect(await readSession(s, one.id)).toMatchObject({ authTime: T0 + 10_000, amr: ["pwd"] });
      expect(await s.sessions.delete(one.id)).not.toBeNull();
      expect(await s.sessions.reauthenticate(one.id, T0 + 11_000, ["pwd"])).toBe(false);
      expect(await s.sessions.reauthenticate("no-such-session", T0 + 11_000, ["pwd"])).toBe(false);
      expect(await readSession(s, one.id)).toBeNull();
    });

    it("a session read back is the caller's own: changing its amr changes nothing stored", async () => {
      const s = state.stores();
      const one = await start();
      const found = await readSession(s, one.id);
      try {
        found?.amr.push("otp");
      } catch {
        // A backend may hand out frozen lists (shared between reads): as good.
      }
      expect((await readSession(s, one.id))?.amr).toEqual(["pwd"]);
    });
  });
}
