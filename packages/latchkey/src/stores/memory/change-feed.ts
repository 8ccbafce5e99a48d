/** The memory `ChangeFeed`. */
import { randomUUID } from "node:crypto";
import type { ChangeFeed } from "../../core/ports.js";
import { copy, type State } from "./state.js";

export function changeFeed(state: State): ChangeFeed {
  let seq = 0;
  const epoch = randomUUID();
  return {
    // The highest seq ever given, pruned or not.
    position: async () => ({ epoch, seq }),
    async publish(kind, subject, at) {
      state.changes.push({ seq: ++seq, kind, subject, at });
      for (const wake of state.wakers) wake();
    },
    read: async (afterSeq, notBefore, limit) =>
      state.changes
        .filter((c) => c.seq > afterSeq && c.at >= notBefore)
        .slice(0, limit)
        .map(copy),
    async prune(before) {
      const kept = state.changes.filter((c) => c.at >= before);
      const pruned = state.changes.length - kept.length;
      state.changes = kept;
      return pruned;
    },
    subscribe(wake) {
      state.wakers.add(wake);
      return () => state.wakers.delete(wake);
    },
  };
}
