/** The memory `RefreshTokenStore`. */
import type { RefreshTokenStore } from "../../core/ports.js";
import { copy, type State } from "./state.js";

export function refreshTokenStore(state: State): RefreshTokenStore {
  return {
    async create(token) {
      state.refreshTokens.set(token.id, copy(token));
    },
    find: async (id) => {
      const token = state.refreshTokens.get(id);
      return token ? copy(token) : null;
    },
    async markRotated(id, now) {
      const token = state.refreshTokens.get(id);
      if (!token || token.rotatedAt !== null) return false;
      token.rotatedAt = now;
      return true;
    },
    async retireForSession(sessionId, now) {
      for (const token of state.refreshTokens.values()) {
        if (token.sessionId === sessionId && token.rotatedAt === null) token.rotatedAt = now;
      }
    },
  };
}
