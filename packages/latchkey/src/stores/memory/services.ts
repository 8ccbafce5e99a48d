/** The memory `ServiceStore`. */
import type { ServiceStore } from "../../core/ports.js";
import { copy, type State } from "./state.js";

export function serviceStore(state: State): ServiceStore {
  const byName = (name: string) => [...state.services.values()].find((s) => s.name === name);
  return {
    async create(service) {
      if (state.services.has(service.id) || byName(service.name)) return false;
      state.services.set(service.id, copy(service));
      return true;
    },
    async findById(id) {
      const found = state.services.get(id);
      return found ? copy(found) : null;
    },
    async findByName(name) {
      const found = byName(name);
      return found ? copy(found) : null;
    },
    async list() {
      return [...state.services.values()].sort((a, b) => a.createdAt - b.createdAt).map(copy);
    },
    async revoke(id, at) {
      const found = state.services.get(id);
      if (!found || found.revokedAt !== null) return false;
      found.revokedAt = at;
      return true;
    },
  };
}
