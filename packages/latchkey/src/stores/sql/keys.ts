/** The SQL `KeyStore`: access-token signing keys. */
import type { Kysely } from "kysely";
import type { KeyStore } from "../../core/ports.js";
import { toSigningKey } from "./rows.js";
import type { Database } from "./schema.js";

export function keyStore(db: Kysely<Database>): KeyStore {
  return {
    async list() {
      const rows = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").orderBy("kid").execute();
      return rows.map(toSigningKey);
    },
    async add(key) {
      await db
        .insertInto("signing_keys")
        .values({
          kid: key.kid,
          alg: key.alg,
          public_jwk: key.publicJwk,
          private_jwk: key.privateJwk,
          created_at: key.createdAt,
          retired_at: key.retiredAt,
        })
        .execute();
    },
    async retireOthers(keepKid, alg, at) {
      await db
        .updateTable("signing_keys")
        .set({ retired_at: at })
        .where("kid", "!=", keepKid)
        .where("alg", "=", alg)
        .where("retired_at", "is", null)
        .execute();
    },
    async deleteRetiredBefore(before) {
      const result = await db.deleteFrom("signing_keys").where("retired_at", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
