/** The memory `KeyStore`. */
import type { KeyStore } from "../../core/ports.js";
import { copy, type State } from "./state.js";

export function keyStore(state: State): KeyStore {
  return {
    list: async () => [...state.keys].sort((a, b) => a.createdAt - b.createdAt || a.kid.localeCompare(b.kid)).map(copy),
    async add(key) {
      state.keys.push(copy(key));
    },
    async retireOthers(keepKid, alg, at) {
      for (const key of state.keys) {
        if (key.kid !== keepKid && key.alg === alg && key.retiredAt === null) key.retiredAt = at;
      }
    },
    async deleteRetiredBefore(before) {
      const kept = state.keys.filter((k) => k.retiredAt === null || k.retiredAt >= before);
      const deleted = state.keys.length - kept.length;
      state.keys = kept;
      return deleted;
    },
  };
}
