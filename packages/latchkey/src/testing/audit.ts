/** The store contract's cases about the admin audit log (`../testing.ts`). */
import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../core/records.js";
import { T0, makeUser as user } from "./fixtures.js";
import type { ContractState } from "./roles.js";

const entry = (id: string, at: number, targetId: string, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  id,
  at,
  actorId: "admin-id",
  actorUsername: "root",
  action: "roles_set",
  targetId,
  targetUsername: "alice",
  ip: "203.0.113.7",
  userAgent: "test",
  detail: '{"from":["user"],"to":["admin","user"]}',
  ...extra,
});

/**
 * Registers the audit log's cases, inside `describeStoreContract`'s suite.
 * @example
 * describeAuditContract({ stores: () => s, opened: () => opened });
 */
export function describeAuditContract(state: ContractState): void {
  describe("admin audit log", () => {
    it("lists newest first (by time, then id), pages with before, and filters by target", async () => {
      const s = state.stores();
      const alice = user("alice");
      await s.users.create(alice);
      const entries = [
        entry("e0", T0, alice.id),
        entry("e1", T0 + 1, "someone-else", {
          actorId: null,
          actorUsername: null,
          detail: null,
          action: "user_disabled",
        }),
        entry("e2", T0 + 2, alice.id),
        entry("e4", T0 + 3, "someone-else"),
        entry("e3", T0 + 3, alice.id),
        entry("e5", T0 + 5, alice.id, { action: "user_deleted" }),
      ];
      // Appended out of order: the order read is the entries', not the appends'.
      for (const e of [...entries].reverse()) await s.audit.append(e);
      const newest = ["e5", "e4", "e3", "e2", "e1", "e0"];
      const all = await s.audit.list({ limit: 100 });
      expect(all.map((e) => e.id)).toEqual(newest);
      expect(all.find((e) => e.id === "e1")).toEqual(entries[1]);
      expect(all[0]).toEqual(entries[5]);
      const pages: string[][] = [];
      let before: { at: number; id: string } | undefined;
      for (let i = 0; i < 5; i++) {
        const page = await s.audit.list({ limit: 2, ...(before && { before }) });
        pages.push(page.map((e) => e.id));
        const last = page.at(-1);
        if (!last) break;
        before = { at: last.at, id: last.id };
      }
      expect(pages).toEqual([["e5", "e4"], ["e3", "e2"], ["e1", "e0"], []]);
      expect((await s.audit.list({ limit: 10, targetId: alice.id })).map((e) => e.id)).toEqual([
        "e5",
        "e3",
        "e2",
        "e0",
      ]);
      const after = await s.audit.list({ limit: 10, targetId: alice.id, before: { at: T0 + 3, id: "e4" } });
      expect(after.map((e) => e.id)).toEqual(["e3", "e2", "e0"]);
    });

    it("outlives the user it is about", async () => {
      const s = state.stores();
      const alice = user("alice");
      await s.users.create(alice);
      const record = entry("gone", T0, alice.id, { action: "user_deleted" });
      await s.audit.append(record);
      expect(await s.users.delete(alice.id)).toBe(true);
      expect(await s.audit.list({ limit: 10, targetId: alice.id })).toEqual([record]);
    });
  });
}
