/**
 * The store contract's cases about roles (`../testing.ts`): roles stored and read with the
 * user and with a session, role changes that every session sees at once, the last-admin
 * guard (also under concurrency, across handles where the backend has them), and search.
 */
import { describe, expect, it } from "vitest";
import type { Stores } from "../core/ports.js";
import type { UserRecord } from "../core/records.js";
import type { OpenedBackend } from "../testing.js";
import { makeSession as session, T0, makeUser as user } from "./fixtures.js";
import { describeRolesAtContract } from "./roles-at.js";

/**
 * The current test's stores, as the cases of `describeStoreContract` see them.
 * @example
 * describeRolesContract({ stores: () => s, opened: () => opened });
 */
export interface ContractState {
  stores(): Stores;
  opened(): OpenedBackend;
}

const ADMIN = ["admin", "user"];

/** What takes a user out of the enabled admins. */
type Removal = "demote" | "disable" | "delete";

const remove = (stores: Stores, id: string, how: Removal): Promise<number | boolean | "last_admin"> =>
  how === "demote"
    ? stores.users.setRoles(id, ["user"], T0 + 50)
    : how === "disable"
      ? stores.users.setDisabled(id, T0 + 50)
      : stores.users.delete(id);

/** The enabled admins, by username. */
async function enabledAdmins(stores: Stores): Promise<string[]> {
  const admins = await stores.users.search({ query: "", role: "admin", limit: 1000 });
  return admins.filter((u) => u.disabledAt === null).map((u) => u.username);
}

/**
 * Registers the roles cases, inside `describeStoreContract`'s suite.
 * @example
 * describeRolesContract({ stores: () => s, opened: () => opened });
 */
export function describeRolesContract(state: ContractState): void {
  describe("roles", () => {
    it("are stored with the user and read with it, alone and with a session", async () => {
      const s = state.stores();
      const root = user("root", { roles: ADMIN, rolesAt: T0 + 1 });
      await s.users.create(root);
      expect(await s.users.findById(root.id)).toEqual(root);
      expect(await s.users.findByUsername("root")).toEqual(root);
      expect((await s.users.list())[0]).toEqual(root);
      const one = session(root.id);
      await s.sessions.create(one);
      expect((await s.sessions.findWithUser(one.id))?.user).toMatchObject({ roles: ADMIN, rolesAt: T0 + 1 });
    });

    it("change with rolesAt, and a session opened before reads the new roles at once", async () => {
      const s = state.stores();
      const root = user("root", { roles: ADMIN });
      const alice = user("alice");
      await s.users.create(root);
      await s.users.create(alice);
      const [before, other] = [session(alice.id), session(alice.id)];
      await s.sessions.create(before);
      await s.sessions.create(other);
      expect(await s.users.setRoles(alice.id, ["admin", "editor", "user"], T0 + 10)).toBe(T0 + 10);
      const changed = { roles: ["admin", "editor", "user"], rolesAt: T0 + 10 };
      expect(await s.users.findById(alice.id)).toMatchObject(changed);
      expect((await s.sessions.findWithUser(before.id))?.user).toMatchObject(changed);
      expect((await s.sessions.findWithUser(other.id))?.user).toMatchObject(changed);
      // Taking admin away again (root is still an admin) reaches the sessions as well.
      expect(await s.users.setRoles(alice.id, ["user"], T0 + 20)).toBe(T0 + 20);
      expect((await s.sessions.findWithUser(before.id))?.user).toMatchObject({ roles: ["user"], rolesAt: T0 + 20 });
      const after = session(alice.id);
      await s.sessions.create(after);
      expect((await s.sessions.findWithUser(after.id))?.user).toMatchObject({ roles: ["user"], rolesAt: T0 + 20 });
      // Another user's sessions keep their own.
      const rootSession = session(root.id);
      await s.sessions.create(rootSession);
      expect((await s.sessions.findWithUser(rootSession.id))?.user.roles).toEqual(ADMIN);
      expect(await s.users.setRoles("missing", ["user"], T0)).toBe(false);
    });

    it("of concurrent role changes of one user and a login, every session reads what the store kept", async () => {
      const s = state.stores();
      const opened = state.opened();
      const handles = [s, ...(opened.openAnother ? [await opened.openAnother()] : [])];
      const root = user("root", { roles: ADMIN });
      const alice = user("alice");
      await s.users.create(root);
      await s.users.create(alice);
      const old = session(alice.id);
      await s.sessions.create(old);
      const lists = [["admin", "user"], ["editor", "user"], ["user"], ["admin", "editor", "user"]];
      for (let round = 0; round < 5; round++) {
        const late = session(alice.id);
        await Promise.all([
          s.sessions.create(late),
          ...lists.map((roles, i) => handles[i % handles.length]?.users.setRoles(alice.id, roles, T0 + round * 10 + i)),
        ]);
        const kept = await s.users.findById(alice.id);
        for (const id of [old.id, late.id]) {
          expect((await s.sessions.findWithUser(id))?.user).toMatchObject({
            roles: kept?.roles,
            rolesAt: kept?.rolesAt,
          });
        }
      }
    });

    describe("the last enabled admin", () => {
      it("cannot be demoted, disabled or deleted: last_admin, and nothing changes", async () => {
        const s = state.stores();
        const root = user("root", { roles: ADMIN });
        const alice = user("alice");
        await s.users.create(root);
        await s.users.create(alice);
        const one = session(root.id);
        await s.sessions.create(one);
        expect(await s.users.setRoles(root.id, ["user"], T0 + 5)).toBe("last_admin");
        expect(await s.users.setDisabled(root.id, T0 + 5)).toBe("last_admin");
        expect(await s.users.delete(root.id)).toBe("last_admin");
        expect(await s.users.findById(root.id)).toEqual(root);
        // Their session lives on, and they may still log in.
        expect((await s.sessions.findWithUser(one.id))?.user).toMatchObject({ roles: ADMIN, disabledAt: null });
        const again = session(root.id);
        await s.sessions.create(again);
        expect((await s.sessions.findWithUser(again.id))?.user.disabledAt).toBeNull();
        // Changes that keep them an admin, and changes to other users, go through.
        expect(await s.users.setRoles(root.id, ["admin"], T0 + 6)).toBe(T0 + 6);
        expect(await s.users.setDisabled(alice.id, T0 + 6)).toBe(true);
        expect(await s.users.setRoles(alice.id, ["editor"], T0 + 6)).toBe(T0 + 6);
        expect(await s.users.delete(alice.id)).toBe(true);
        expect(await s.users.setDisabled("missing", T0)).toBe(false);
        expect(await s.users.delete("missing")).toBe(false);
      });

      it("may go while another enabled admin remains; a disabled admin does not count", async () => {
        const s = state.stores();
        const [root, ops, spare] = [user("root", { roles: ADMIN }), user("ops", { roles: ADMIN }), user("spare")];
        for (const u of [root, ops, spare]) await s.users.create(u);
        expect(await s.users.setDisabled(ops.id, T0 + 1)).toBe(true);
        expect(await s.users.setRoles(root.id, ["user"], T0 + 2)).toBe("last_admin");
        expect(await s.users.delete(root.id)).toBe("last_admin");
        expect(await s.users.setDisabled(ops.id, null)).toBe(true);
        expect(await s.users.setRoles(root.id, ["user"], T0 + 3)).toBe(T0 + 3);
        expect(await s.users.setDisabled(ops.id, T0 + 4)).toBe("last_admin");
        expect(await s.users.setRoles(spare.id, ["admin"], T0 + 5)).toBe(T0 + 5);
        expect(await s.users.delete(ops.id)).toBe(true);
        expect(await s.users.setDisabled(spare.id, T0 + 6)).toBe("last_admin");
        expect(await enabledAdmins(s)).toEqual(["spare"]);
      });

      const pairs: [Removal, Removal][] = [
        ["demote", "demote"],
        ["disable", "disable"],
        ["delete", "delete"],
        ["demote", "disable"],
      ];
      for (const [first, second] of pairs) {
        it(`of the last two, ${first} and ${second} at once: exactly one goes (on two handles where the backend has them)`, async () => {
          const s = state.stores();
          const opened = state.opened();
          const other = opened.openAnother ? await opened.openAnother() : s;
          let survivor = user("admin-0", { roles: ADMIN });
          await s.users.create(survivor);
          for (let round = 1; round <= 4; round++) {
            const newcomer = user(`admin-${round}`, { roles: ADMIN });
            await s.users.create(newcomer);
            const results = await Promise.all([remove(s, survivor.id, first), remove(other, newcomer.id, second)]);
            expect(results.filter((r) => r === "last_admin")).toHaveLength(1);
            // A demotion that went answers its rolesAt; a disabling or deletion, true.
            expect(results.filter((r) => r === true || typeof r === "number")).toHaveLength(1);
            const kept = results[0] === "last_admin" ? survivor : newcomer;
            expect(await enabledAdmins(s)).toEqual([kept.username]);
            // The one refused keeps everything: no mark of disabling stops their next login.
            const next = session(kept.id);
            await s.sessions.create(next);
            expect((await s.sessions.findWithUser(next.id))?.user).toMatchObject({ roles: ADMIN, disabledAt: null });
            survivor = kept;
          }
        });
      }
    });

    describeRolesAtContract(state);
  });

  describe("user search", () => {
    const names = (users: UserRecord[]) => users.map((u) => u.username);

    it("finds by a substring of the username (wildcards literal) and by exact role", async () => {
      const s = state.stores();
      const users = [
        user("alice"),
        user("alicia", { roles: ADMIN }),
        user("bob", { roles: ADMIN }),
        user("carol_x"),
        user("carolyn", { roles: ["ops-x", "user"] }),
      ];
      for (const u of users) await s.users.create(u);
      const search = (query: string, role?: string) =>
        s.users.search({ query, limit: 50, ...(role !== undefined && { role }) }).then(names);
      expect(await search("")).toEqual(["alice", "alicia", "bob", "carol_x", "carolyn"]);
      expect(await search("lic")).toEqual(["alice", "alicia"]);
      expect(await search("_")).toEqual(["carol_x"]);
      expect(await search("%")).toEqual([]);
      expect(await search("", "admin")).toEqual(["alicia", "bob"]);
      expect(await search("ali", "admin")).toEqual(["alicia"]);
      expect(await search("", "ops-x")).toEqual(["carolyn"]);
      expect(await search("", "ops_x")).toEqual([]);
      expect(await search("", "adm")).toEqual([]);
      expect((await s.users.search({ query: "bob", limit: 5 }))[0]).toEqual(users[2]);
    });

    it("pages by username with after and limit: every user exactly once, in order", async () => {
      const s = state.stores();
      const all = Array.from({ length: 12 }, (_, i) => `page${String(i).padStart(2, "0")}`);
      for (const name of [...all].reverse()) await s.users.create(user(name));
      await s.users.create(user("other"));
      const seen: string[] = [];
      const sizes: number[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const found = names(await s.users.search({ query: "page", limit: 5, ...(after !== undefined && { after }) }));
        sizes.push(found.length);
        if (found.length === 0) break;
        seen.push(...found);
        after = found.at(-1);
      }
      expect(seen).toEqual(all);
      expect(sizes).toEqual([5, 5, 2, 0]);
    });
  });
}
