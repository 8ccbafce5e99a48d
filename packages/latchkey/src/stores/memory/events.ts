/** The memory `EventStore`. */
import type { EventStore } from "../../core/ports.js";
import { copy, type State } from "./state.js";

export function eventStore(state: State): EventStore {
  return {
    async append(event) {
      state.events.push(copy(event));
    },
    listByUser: async (userId, limit) =>
      state.events
        .filter((e) => e.userId === userId)
        .reverse()
        .slice(0, limit)
        .map(copy),
    async sweepOlderThan(before, limit) {
      const old = state.events
        .filter((e) => e.at < before)
        .sort((a, b) => a.at - b.at)
        .slice(0, limit);
      const gone = new Set(old);
      state.events = state.events.filter((e) => !gone.has(e));
      return old.length;
    },
  };
}
