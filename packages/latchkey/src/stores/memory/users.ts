/** The memory `UserStore`, with its unique index of email addresses (`State.emails`). */
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
      // `?? null`: a record built before email existed (no such field) has none.
      const email = user.email ?? null;
      if (byName(user.username) || (email !== null && state.emails.has(email))) return false;
      state.users.set(user.id, { ...copyUser(user), email, emailVerifiedAt: user.emailVerifiedAt ?? null });
      if (email !== null) state.emails.set(email, user.id);
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
    findByEmail: async (email) => {
      const user = state.users.get(state.emails.get(email) ?? "");
      return user ? copyUser(user) : null;
    },
    async setEmail(id, email, verifiedAt) {
      const user = state.users.get(id);
      if (!user) return false;
      const holder = email === null ? undefined : state.emails.get(email);
      if (holder !== undefined && holder !== id) return "email_taken";
      if (user.email !== null) state.emails.delete(user.email);
      if (email !== null) state.emails.set(email, id);
      Object.assign(user, { email, emailVerifiedAt: verifiedAt });
      return true;
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
      if (user.email !== null) state.emails.delete(user.email);
      for (const [key, token] of state.links) if (token.userId === id) state.links.delete(key);
      for (const [key, factor] of state.factors) if (factor.userId === id) state.factors.delete(key);
      state.recoveryCodes.delete(id);
      for (const [key, challenge] of state.challenges) if (challenge.userId === id) state.challenges.delete(key);
      for (const [key, s] of state.sessions) if (s.userId === id) dropSession(state, key);
      state.events = state.events.filter((e) => e.userId !== id);
      return true;
    },
  };
}
