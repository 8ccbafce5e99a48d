/** The memory `UserStore`. */
import type { UserStore } from "../../core/ports.js";
import { copy, dropSession, type State } from "./state.js";

export function userStore(state: State): UserStore {
  const byName = (username: string) => [...state.users.values()].find((u) => u.username === username);
  return {
    async create(user) {
      if (byName(user.username)) return false;
      state.users.set(user.id, copy(user));
      return true;
    },
    findById: async (id) => {
      const user = state.users.get(id);
      return user ? copy(user) : null;
    },
    findByUsername: async (username) => {
      const user = byName(username);
      return user ? copy(user) : null;
    },
    list: async () => [...state.users.values()].map(copy).sort((a, b) => a.username.localeCompare(b.username)),
    async updatePasswordHash(id, passwordHash) {
      const user = state.users.get(id);
      if (!user) return false;
      user.passwordHash = passwordHash;
      return true;
    },
    async setDisabled(id, disabledAt) {
      const user = state.users.get(id);
      if (!user) return false;
      user.disabledAt = disabledAt;
      return true;
    },
    async delete(id) {
      if (!state.users.delete(id)) return false;
      for (const [key, s] of state.sessions) if (s.userId === id) dropSession(state, key);
      state.events = state.events.filter((e) => e.userId !== id);
      return true;
    },
  };
}
