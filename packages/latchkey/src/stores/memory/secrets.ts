/** The memory `SecretStore`. */
import type { SecretStore } from "../../core/ports.js";
import type { State } from "./state.js";

export function secretStore(state: State): SecretStore {
  return {
    async getOrCreate(name, candidate) {
      const existing = state.secrets.get(name);
      if (existing !== undefined) return existing;
      state.secrets.set(name, candidate);
      return candidate;
    },
  };
}
