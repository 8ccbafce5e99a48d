/** The memory `CounterStore`. */
import type { CounterStore } from "../../core/ports.js";
import { copy, type State } from "./state.js";

export function counterStore(state: State): CounterStore {
  return {
    async hit(key, windowMs, now) {
      const current = state.counters.get(key);
      const next =
        current && now < current.resetAt
          ? { count: current.count + 1, resetAt: current.resetAt }
          : { count: 1, resetAt: now + windowMs };
      state.counters.set(key, next);
      return copy(next);
    },
    async peek(key, now) {
      const current = state.counters.get(key);
      return current && now < current.resetAt ? copy(current) : null;
    },
    async release(key, now) {
      const current = state.counters.get(key);
      if (current && now < current.resetAt && current.count > 0) current.count--;
    },
    async reset(key) {
      state.counters.delete(key);
    },
    async sweepExpired(now) {
      let deleted = 0;
      for (const [key, counter] of state.counters) {
        if (counter.resetAt <= now && state.counters.delete(key)) deleted++;
      }
      return deleted;
    },
  };
}
