/** The SQL `AuditStore`: the admin audit log, newest first, paged by `(at, id)`. */
import type { Kysely } from "kysely";
import type { AuditStore } from "../../core/ports.js";
import { fromAudit, toAudit } from "./rows.js";
import type { Database } from "./schema.js";

export function auditStore(db: Kysely<Database>): AuditStore {
  return {
    async append(record) {
      await db.insertInto("admin_events").values(fromAudit(record)).execute();
    },
    async list({ limit, before, targetId }) {
      let select = db.selectFrom("admin_events").selectAll();
      if (targetId !== undefined) select = select.where("target_id", "=", targetId);
      if (before !== undefined) {
        select = select.where((eb) =>
          eb.or([eb("at", "<", before.at), eb.and([eb("at", "=", before.at), eb("id", "<", before.id)])]),
        );
      }
      const rows = await select.orderBy("at", "desc").orderBy("id", "desc").limit(limit).execute();
      return rows.map(toAudit);
    },
  };
}
