/** The memory `AuditStore`. */
import type { AuditStore } from "../../core/ports.js";
import type { AuditRecord } from "../../core/records.js";
import { copy, type State } from "./state.js";

/** Newest first: by `at`, then `id`, both descending. */
const newestFirst = (a: AuditRecord, b: AuditRecord) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export function auditStore(state: State): AuditStore {
  return {
    async append(record) {
      state.audit.push(copy(record));
    },
    list: async ({ limit, before, targetId }) =>
      state.audit
        .filter(
          (r) =>
            (targetId === undefined || r.targetId === targetId) &&
            (before === undefined || r.at < before.at || (r.at === before.at && r.id < before.id)),
        )
        .sort(newestFirst)
        .slice(0, limit)
        .map(copy),
  };
}
