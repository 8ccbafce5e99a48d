/**
 * The store contract's cases about `rolesAt` (`./roles.ts`): the store, not the caller's
 * clock, decides it, so every change of one user gets a later `rolesAt` than the one
 * before, also of concurrent changes on two handles (`UserStore.setRoles`).
 */
import { describe, expect, it } from "vitest";
import type { Stores } from "../core/ports.js";
import { makeSession as session, T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

/** Concurrent changes per round of the concurrency case. */
const WRITERS = 8;

/** The roles of writer `i`: a name of its own, and admin for every other one. */
const rolesOf = (i: number): string[] => [...(i % 2 === 0 ? ["admin"] : []), `r${i}`, "user"];

/** What the user and each given session read now, as `roles` and `rolesAt`. */
async function seen(stores: Stores, userId: string, sessionIds: string[]) {
  const stored = await stores.users.findById(userId);
  const copies = await Promise.all(sessionIds.map((id) => stores.sessions.findWithUser(id)));
  return { stored, copies: copies.map((found) => found && { roles: found.user.roles, rolesAt: found.user.rolesAt }) };
}

/**
 * Registers the `rolesAt` cases, inside `describeRolesContract`'s suite.
 * @example
 * describeRolesAtContract({ stores: () => s, opened: () => opened });
 */
export function describeRolesAtContract(state: ContractState): void {
  describe("rolesAt", () => {
    it("is at, or the stored rolesAt + 1 when at is not later: returned and stored", async () => {
      const s = state.stores();
      const alice = user("alice", { rolesAt: T0 + 100 });
      await s.users.create(user("root", { roles: ["admin", "user"] }));
      await s.users.create(alice);
      const one = session(alice.id);
      await s.sessions.create(one);
      const steps: [string[], number, number][] = [
        [["editor", "user"], T0 + 5, T0 + 101],
        [["admin", "user"], T0 + 101, T0 + 102],
        [["user"], T0 + 500, T0 + 500],
        [["editor", "user"], T0 + 500, T0 + 501],
      ];
      for (const [roles, at, expected] of steps) {
        expect(await s.users.setRoles(alice.id, roles, at)).toBe(expected);
        const { stored, copies } = await seen(s, alice.id, [one.id]);
        expect(stored).toMatchObject({ roles, rolesAt: expected });
        expect(copies).toEqual([{ roles, rolesAt: expected }]);
      }
    });

    it(`of ${WRITERS} concurrent changes of one user with one at, each gets its own rolesAt, the last one's roles stay (on two handles where the backend has them)`, async () => {
      const s = state.stores();
      const opened = state.opened();
      const handles = [s, ...(opened.openAnother ? [await opened.openAnother()] : [])];
      const alice = user("alice");
      await s.users.create(user("root", { roles: ["admin", "user"] }));
      await s.users.create(alice);
      const one = session(alice.id);
      await s.sessions.create(one);
      const at = T0 + 10;
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(
          Array.from({ length: WRITERS }, (_, i) =>
            handles[i % handles.length]?.users.setRoles(alice.id, rolesOf(i), at),
          ),
        );
        // One after another in some order: at (first round's first) or the previous + 1.
        const first = at + round * WRITERS;
        expect([...results].sort((a, b) => Number(a) - Number(b))).toEqual(
          Array.from({ length: WRITERS }, (_, k) => first + k),
        );
        const last = results.indexOf(first + WRITERS - 1);
        const { stored, copies } = await seen(s, alice.id, [one.id]);
        expect(stored).toMatchObject({ roles: rolesOf(last), rolesAt: first + WRITERS - 1 });
        expect(copies).toEqual([{ roles: rolesOf(last), rolesAt: first + WRITERS - 1 }]);
      }
    });
  });
}
