/** The memory `UserStore`. */
import type { UserStore } from "../../core/ports.js";
import type { UserRecord } from "../../core/records.js";
import { copyUser, dropSession, type State } from "./state.js";

const isEnabledAdmin = (user: UserRecord) => user.disabledAt === null && user.roles.includes("admin");

export function userStore(state: State): UserStore {
  const byName = (username: string) => [...state.users.values()].find((u) => u.username === username);
  /**
   * Whether taking `user` out of the enabled admins would leave none. The check and the
   * write after it run with no await between them: nothing else runs in between.
   */
  const isLastAdmin = (user: UserRecord) =>
    isEnabledAdmin(user) && ![...state.users.values()].some((u) => u.id !== user.id && isEnabledAdmin(u));
  return {
    async create(user) {
      if (byName(user.username)) return false;
      state.users.set(user.id, copyUser(user));
      return true;
    },
    findById: async (id) => {
      const user = state.users.get(id);
      return user ? copyUser(user) : null;
    },
    findByUsername: async (username) => {
      const user = byName(username);
      return user ? copyUser(user) : null;
    },
    list: async () => [...state.users.values()].map(copyUser).sort((a, b) => a.username.localeCompare(b.username)),
    search: async ({ query, role, after, limit }) =>
      [...state.users.values()]
        .filter(
          (u) =>
            u.username.includes(query) &&
            (role === undefined || u.roles.includes(role)) &&
            (after === undefined || u.username > after),
        )
        // Code-unit order, as `after` compares: a page never repeats or skips a name.
        .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
        .slice(0, limit)
        .map(copyUser),
    async updatePasswordHash(id, passwordHash) {
      const user = state.users.get(id);
      if (!user) return false;
      user.passwordHash = passwordHash;
      return true;
    },
    async setDisabled(id, disabledAt) {
      const user = state.users.get(id);
      if (!user) return false;
      if (disabledAt !== null && isLastAdmin(user)) return "last_admin";
      user.disabledAt = disabledAt;
      return true;
    },
    async setRoles(id, roles, at) {
      const user = state.users.get(id);
      if (!user) return false;
      if (!roles.includes("admin") && isLastAdmin(user)) return "last_admin";
      user.roles = [...roles];
      // Later than the stored rolesAt whatever `at` says (see `UserStore.setRoles`).
      user.rolesAt = Math.max(at, user.rolesAt + 1);
      return user.rolesAt;
    },
    async delete(id) {
      const user = state.users.get(id);
      if (!user) return false;
      if (isLastAdmin(user)) return "last_admin";
      state.users.delete(id);
      for (const [key, s] of state.sessions) if (s.userId === id) dropSession(state, key);
      state.events = state.events.filter((e) => e.userId !== id);
      return true;
    },
  };
}
