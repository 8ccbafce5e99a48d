/** The memory `LinkTokenStore`. */
import type { LinkTokenStore } from "../../core/ports.js";
import type { LinkTokenRecord } from "../../core/records.js";
import { copy, type State } from "./state.js";

const isPending = (token: LinkTokenRecord, now: number) => token.usedAt === null && now < token.expiresAt;

/** Created later, or at the same instant with a greater id: the SQL stores' order. */
const isNewer = (a: LinkTokenRecord, b: LinkTokenRecord) =>
  a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id);

export function linkTokenStore(state: State): LinkTokenStore {
  return {
    async create(token) {
      state.links.set(token.id, copy(token));
    },
    find: async (id) => {
      const token = state.links.get(id);
      return token ? copy(token) : null;
    },
    async use(id, now) {
      // No await between the check and the write: of racing calls, the first one wins.
      const token = state.links.get(id);
      if (!token || !isPending(token, now)) return false;
      token.usedAt = now;
      return true;
    },
    async findPending(userId, purpose, now) {
      let newest: LinkTokenRecord | undefined;
      for (const token of state.links.values()) {
        if (token.userId !== userId || token.purpose !== purpose || !isPending(token, now)) continue;
        if (!newest || isNewer(token, newest)) newest = token;
      }
      return newest ? copy(newest) : null;
    },
    async deleteByUser(userId, purpose, keep = {}) {
      let deleted = 0;
      for (const [id, token] of state.links) {
        const kept = id === keep.id || (keep.email != null && token.email === keep.email);
        if (token.userId === userId && (purpose === undefined || token.purpose === purpose) && !kept) {
          state.links.delete(id);
          deleted++;
        }
      }
      return deleted;
    },
    async sweepExpired(now, limit) {
      let deleted = 0;
      for (const [id, token] of state.links) {
        if (deleted >= limit) break;
        if (token.expiresAt <= now) {
          state.links.delete(id);
          deleted++;
        }
      }
      return deleted;
    },
  };
}
